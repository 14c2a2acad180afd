"""Drop repeated <script> entries from each page, so no inline script runs twice.

sphinx-thebe 0.3.1 adds its small inline settings script (which declares THEBE_JS_URL with
`const`) once when the HTML builder starts, and Sphinx 7.4 adds it again while preparing the
pages; Sphinx's own de-duplication misses it because one copy has the filename None and the
other ''. The second declaration is a script error on every page, which the browser test
(tests/test_site.py) reports. Thebe itself stays off; nothing is fetched.
"""


def _key(script):
    filename = getattr(script, "filename", None) or ""
    attributes = getattr(script, "attributes", {}) or {}
    return filename, tuple(sorted((str(k), str(v)) for k, v in attributes.items()))


def _dedupe(app, pagename, templatename, context, doctree):
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        key = _key(script)
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _dedupe)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
