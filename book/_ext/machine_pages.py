"""Write one page per pooled machine before Sphinx looks for sources.

The part "Results across machines" lists ``book/results/machines/*`` in ``_toc.yml`` (a glob), and
this extension fills that folder when the build starts (``builder-inited`` comes before Sphinx
collects the documents) from the repository's ``results/`` catalogue and the reader's own results
folder, with :func:`haiend.catalogue.write_machine_pages`. A machine that leaves the pool loses
its page; a page whose content is unchanged keeps its time, so an incremental build skips it.
The folder is generated, so git ignores it. Nothing is fetched.

A result file that cannot be read is named in the build's log, not raised as a warning: the
book builds with ``-W``, and one damaged file in a reader's own folder must not stop it (the
results pages name it too).
"""

from pathlib import Path

from sphinx.util import logging

logger = logging.getLogger(__name__)


def write_pages(app) -> None:
    from haiend import catalogue

    root = Path(app.srcdir)
    pool = catalogue.gather(root / "results")
    for path, why in pool.problems:
        logger.info(f"machine pages: left out {path}: {why}")
    written = catalogue.write_machine_pages(pool, root / catalogue.PAGE_FOLDER)
    logger.info(f"machine pages: {len(written)} written to {catalogue.PAGE_FOLDER}")


def setup(app):
    app.connect("builder-inited", write_pages)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
