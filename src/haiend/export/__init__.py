"""The built book exported for learning platforms: the DiRAC Training Academy's Moodle first.

:mod:`haiend.export.moodle` writes a Common Cartridge 1.1 (course restore) and, on request, an IMS
content package of the whole book (the "IMS content package" activity). The other modules are its
parts: the table of contents (``toc``), what a built page states and its offline copy (``pages``),
section summaries (``summary``), the shipped IMS schemas (``ims_schemas``), the cartridge
(``cartridge``) and the content package (``content_package``).
"""
