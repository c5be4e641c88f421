"""A small Sphinx extension the staged book loads (see site.py): fixes to the theme stack
that the browser tests found, each a console error in a reader's browser otherwise.

- Jupyter Book adds every ``.js`` file under ``_static/`` to every page; the self-hosted
  MathJax's components (loaded on demand by MathJax itself) must not be.
- Some extensions (sphinx-thebe, sphinx-togglebutton) register their inline scripts twice
  in one build, and a second ``const THEBE_JS_URL`` is a SyntaxError: keep one of each.
- pydata-sphinx-theme reads ``default_mode`` from the page context; unset, it logs
  "Got invalid theme mode" on every page.
"""

from __future__ import annotations


def _config_inited(app, config) -> None:
    config.html_js_files = [f for f in config.html_js_files
                            if not str(f[0] if isinstance(f, tuple) else f).startswith("mathjax/")]
    config.html_context.setdefault("default_mode", "auto")


def _page_context(app, pagename, templatename, context, doctree) -> None:
    scripts = context.get("script_files")
    if not scripts:
        return
    seen, unique = set(), []
    for script in scripts:
        # An inline script is registered once with filename None and once with "".
        name = getattr(script, "filename", script) or ""
        key = (str(name), tuple(sorted((k, str(v)) for k, v in getattr(script, "attributes", {}).items())))
        if key in seen:
            continue
        seen.add(key)
        unique.append(script)
    scripts[:] = unique


def setup(app):
    app.connect("config-inited", _config_inited)
    # Early: a theme handler that returns a template name stops the handlers after it.
    app.connect("html-page-context", _page_context, priority=1)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
