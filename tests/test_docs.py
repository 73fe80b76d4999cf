"""Tests of the documentation site (``make docs``), with headless Chromium.

The version of the package, of ``cdl --version``, of CITATION.cff and of the
citation page agree (no build needed). The other tests read the HTML that
``make docs`` wrote (``docs/_build/html``, or the folder in
``CDL_DOCS_HTML``) and are skipped with a reason when it is absent, unless
``CDL_DOCS_REQUIRED=1`` (CI, after ``make docs``), which makes an absent site
a failure.

- the site's pages: every page of the guide, one gallery page per example,
  one API entry for every name in the ``__all__`` of the packages that
  ``docs/conf.py`` lists, one section per sub-command of ``cdl``; an EEGBCI
  example either ran (its figures) or says on its page that it was not run;

- every page: no broken internal link (file or ``#anchor``), no link that
  leaves the site for the file system (e.g. to ``../shared``), no resource
  (script, style sheet, image) fetched from the network: the site works
  offline;
- the landing page, one gallery page and one API page, opened in headless
  Chromium driven through its DevTools protocol over a pipe
  (``--remote-debugging-pipe``, standard library only): they load, no request
  of the page fails, no script error, and every image is decoded
  (``naturalWidth > 0``), including the gallery figures.

Chromium: ``apt-get install -y chromium`` (as root); skipped when absent.
"""
import ast
import fcntl
import importlib
import json
import os
import re
import select
import shutil
import subprocess
import sys
import tempfile
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

import cdl

ROOT = Path(__file__).resolve().parents[1]
SITE = Path(os.environ.get("CDL_DOCS_HTML", ROOT / "docs" / "_build" / "html"))
# Pages opened in Chromium: (page, minimum number of images, an image that must
# be among them). The gallery page runs on simulated data, so it has figures
# on any machine.
BROWSER_PAGES = [
    ("index.html", 1, "sphx_glr_"),
    ("auto_examples/dripp/plot_dripp_simulated.html", 2,
     "sphx_glr_plot_dripp_simulated_001"),
    ("api/generated/cdl.BatchCDL.html", 1, "_thumb"),
    ("user_guide/architecture.html", 0, None),
]
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync", "--no-first-run"]
EXTERNAL = ("http:", "https:", "mailto:", "ftp:")
IGNORED = ("data:", "javascript:", "about:", "blob:")
# Attributes that load a resource (must be local) or link to a page.
RESOURCE_ATTRS = {("img", "src"), ("script", "src"), ("source", "src"),
                  ("iframe", "src"), ("embed", "src"), ("video", "src"),
                  ("audio", "src")}
LINK_ATTRS = {("a", "href"), ("area", "href")}
# <link rel=...> values whose href the browser fetches with the page.
LOADED_RELS = {"stylesheet", "preload", "modulepreload", "icon", "shortcut",
               "apple-touch-icon", "manifest"}


@pytest.fixture(scope="module")
def site():
    if not (SITE / "index.html").is_file():
        message = (f"the documentation is not built ({SITE / 'index.html'} is "
                   f"missing): run `make docs` first")
        if os.environ.get("CDL_DOCS_REQUIRED"):
            pytest.fail(message)
        pytest.skip(message)
    return SITE


# -- static checks of every page ---------------------------------------------------
class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.refs = []  # (kind, tag, url)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if attrs.get(key):
                self.ids.add(attrs[key])
        for attr in ("href", "src"):
            value = attrs.get(attr)
            if value is None:
                continue
            if tag == "link":
                rel = set((attrs.get("rel") or "").lower().split())
                kind = "resource" if rel & LOADED_RELS else "link"
            elif (tag, attr) in RESOURCE_ATTRS:
                kind = "resource"
            elif (tag, attr) in LINK_ATTRS:
                kind = "link"
            else:
                continue
            self.refs.append((kind, tag, value.strip()))
        if tag in ("img", "source") and attrs.get("srcset"):
            for candidate in attrs["srcset"].split(","):
                if candidate.strip():
                    self.refs.append(("resource", tag, candidate.split()[0]))


def _parse(path):
    parser = _PageParser()
    parser.feed(path.read_text(encoding="utf-8", errors="replace"))
    return parser


@pytest.fixture(scope="module")
def pages(site):
    # _static/ holds the theme's files (e.g. a Jinja template named .html), not pages
    return {p: _parse(p) for p in sorted(site.rglob("*.html"))
            if p.relative_to(site).parts[0] != "_static"}


def _resolve(site, page, url):
    """(target file or None, fragment) of a local url found in ``page``."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc:
        return None, None
    if not parts.path:
        return page, unquote(parts.fragment)
    target = (page.parent / unquote(parts.path)).resolve()
    if target.is_dir():
        target = target / "index.html"
    return target, unquote(parts.fragment)


def test_site_has_the_expected_pages(site, pages):
    names = {p.relative_to(site).as_posix() for p in pages}
    expected = {"index.html", "install.html", "cli.html", "changelog.html",
                "cite.html", "api/index.html", "auto_examples/index.html",
                "user_guide/index.html", "user_guide/model.html",
                "user_guide/parameters.html", "user_guide/report.html",
                "user_guide/dripp.html", "user_guide/long_recordings.html",
                "user_guide/distributed.html", "user_guide/performance.html",
                "user_guide/architecture.html"}
    assert expected <= names, sorted(expected - names)
    gallery = [n for n in names if n.startswith("auto_examples/")
               and Path(n).stem.startswith("plot_")]
    examples = sorted((ROOT / "examples").rglob("plot_*.py"))
    assert len(gallery) == len(examples), "every example has its gallery page"
    assert sum(n.startswith("api/generated/") for n in names) >= 90


def _api_packages():
    """``cdl_api_packages`` of docs/conf.py."""
    text = (ROOT / "docs" / "conf.py").read_text()
    return ast.literal_eval(
        re.search(r"^cdl_api_packages = (\[.*?\])", text, re.M | re.S).group(1))


def test_api_reference_has_every_public_name(site, pages):
    index = site / "api" / "index.html"
    ids, text = pages[index].ids, index.read_text(encoding="utf-8")
    packages = _api_packages()
    assert {"cdl", "cdl.dripp", "dicod", "data_fetchers", "cdl.io", "cdl.viz",
            "cdl.report", "cdl.pipeline", "cdl.learn", "cdl.coding",
            "cdl.dictionary", "cdl.simulate"} <= set(packages)
    missing = []
    for package in packages:
        for name in importlib.import_module(package).__all__:
            full = f"{package}.{name}"
            # its own page, a constant on the index, or a pointer to the page
            # of the same object under another package
            if not ((site / "api" / "generated" / f"{full}.html").is_file()
                    or full in ids or f"<code class=\"docutils literal notranslate\">"
                    f"<span class=\"pre\">{full}</span>" in text):
                missing.append(full)
    assert not missing, f"public names missing from the API reference: {missing}"


def test_cli_reference_has_every_command(site, pages):
    from cdl.cli import build_parser
    parser = build_parser()
    commands = next(a for a in parser._actions
                    if a.__class__.__name__ == "_SubParsersAction").choices
    ids = pages[site / "cli.html"].ids
    assert {f"cdl-{name}" for name in commands} <= ids, sorted(commands)


def test_eegbci_examples_ran_or_say_they_did_not(site):
    for example in sorted((ROOT / "examples").rglob("plot_*.py")):
        if "load_eegbci" not in example.read_text():
            continue
        folder = example.parent.relative_to(ROOT / "examples").as_posix()
        page = site / "auto_examples" / folder / f"{example.stem}.html"
        html = page.read_text(encoding="utf-8")
        ran = f"sphx_glr_{example.stem}_001" in html
        note = "was <strong>not run</strong>" in html
        assert ran != note, f"{page}: ran={ran}, not-run note={note}"


def test_site_shows_the_package_version(site):
    html = (site / "index.html").read_text(encoding="utf-8")
    assert f"cdl-meeg {cdl.__version__}" in html


# -- one version everywhere (no build needed) ---------------------------------------
def test_version_agrees_everywhere():
    version = cdl.__version__
    cff = re.search(r"^version: *(\S+)", (ROOT / "CITATION.cff").read_text(), re.M)
    assert cff and cff.group(1).strip("'\"") == version, "CITATION.cff"
    cite = re.search(r"version *= *\{([^}]*)\}",
                     (ROOT / "docs" / "cite.rst").read_text())
    assert cite and cite.group(1) == version, "docs/cite.rst"
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert re.search(rf"^## .*{re.escape(version)}", changelog, re.M), "CHANGELOG.md"
    out = subprocess.run([sys.executable, "-m", "cdl.cli", "--version"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert out.stdout.strip() == f"cdl {version}"


def test_no_broken_internal_link(site, pages):
    site_root = site.resolve()
    broken, outside, remote = [], [], []
    for page, parsed in pages.items():
        where = page.relative_to(site).as_posix()
        for kind, tag, url in parsed.refs:
            low = url.lower()
            if not url or low.startswith(IGNORED):
                continue
            if low.startswith("file:"):
                outside.append(f"{where}: {url}")
                continue
            if low.startswith(EXTERNAL) or low.startswith("//"):
                if kind == "resource":
                    remote.append(f"{where}: <{tag}> {url}")
                continue
            target, fragment = _resolve(site, page, url)
            if target is None:
                continue
            if site_root not in target.parents and target != site_root:
                outside.append(f"{where}: {url}")
            elif not target.is_file():
                broken.append(f"{where}: {url}")
            elif fragment and target.suffix == ".html":
                ids = pages.get(target, None)
                ids = ids.ids if ids is not None else _parse(target).ids
                if fragment not in ids:
                    broken.append(f"{where}: {url} (no anchor #{fragment})")
    problems = [(f"{len(outside)} links leaving the site", outside),
                (f"{len(remote)} resources fetched from the network", remote),
                (f"{len(broken)} broken internal links", broken)]
    message = "\n".join(f"{title}:\n  " + "\n  ".join(items[:40])
                        for title, items in problems if items)
    assert not message, message


def test_no_page_mentions_the_shared_folder_as_a_link(pages):
    for page, parsed in pages.items():
        for _, _, url in parsed.refs:
            assert "shared/data" not in url, f"{page}: {url}"


# -- Chromium through the DevTools protocol -----------------------------------------
def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    pytest.skip("Chromium is not installed (apt-get install chromium): the "
                "documentation cannot be opened in a browser")


class DevTools:
    """Minimal client of Chromium's DevTools protocol on ``--remote-debugging-pipe``.

    Chromium reads commands on its fd 3 and writes replies and events on its
    fd 4, as JSON messages ended by a NUL byte.
    """

    def __init__(self, browser, profile):
        to_chrome_r, to_chrome_w = os.pipe()
        from_chrome_r, from_chrome_w = os.pipe()
        # the child's ends, moved above 2..4 so that dup2 onto 3 and 4 is safe
        child_in = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD_CLOEXEC, 10)
        child_out = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD_CLOEXEC, 10)
        os.close(to_chrome_r)
        os.close(from_chrome_w)

        def child_fds():
            os.dup2(child_in, 3)
            os.dup2(child_out, 4)

        self.process = subprocess.Popen(
            [browser, *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
             "--remote-debugging-pipe", "--window-size=1280,1000", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, pass_fds=(3, 4), preexec_fn=child_fds)
        os.close(child_in)
        os.close(child_out)
        self.write_fd, self.read_fd = to_chrome_w, from_chrome_r
        self.buffer = b""
        self.next_id = 0
        self.events = []

    def _read_message(self, deadline):
        while b"\0" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError("no answer from Chromium")
            ready, _, _ = select.select([self.read_fd], [], [], left)
            if ready:
                chunk = os.read(self.read_fd, 1 << 20)
                if not chunk:
                    raise RuntimeError("Chromium closed the DevTools pipe")
                self.buffer += chunk
        message, self.buffer = self.buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method, params=None, session=None, timeout=60.):
        self.next_id += 1
        message = {"id": self.next_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        os.write(self.write_fd, json.dumps(message).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self.events.append(reply)

    def wait_event(self, method, session, timeout=60.):
        deadline = time.monotonic() + timeout
        for i, event in enumerate(self.events):
            if event.get("method") == method and event.get("sessionId") == session:
                return self.events.pop(i)
        while True:
            event = self._read_message(deadline)
            if event.get("method") == method and event.get("sessionId") == session:
                return event
            self.events.append(event)

    def close(self):
        try:
            self.send("Browser.close", timeout=10.)
        except Exception:  # noqa: BLE001 (the browser may be gone already)
            pass
        for fd in (self.write_fd, self.read_fd):
            os.close(fd)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# Run in the page once loaded: make lazy images load, wait for every image
# (at most 15 s), then report them.
IMAGES_JS = """(async () => {
  const images = Array.from(document.images);
  images.forEach(img => { img.loading = 'eager'; });
  await Promise.race([
    Promise.all(images.map(img => img.complete ? null : new Promise(done => {
      img.addEventListener('load', done); img.addEventListener('error', done);
    }))),
    new Promise(done => setTimeout(done, 15000))]);
  return {title: document.title,
          text: document.body.innerText.length,
          images: images.map(img => ({src: img.currentSrc || img.src,
                                      complete: img.complete,
                                      width: img.naturalWidth}))};
})()"""


def _open(devtools, url):
    """Load ``url`` in a new tab; (page report, failed requests, script errors)."""
    target = devtools.send("Target.createTarget", {"url": "about:blank"})["targetId"]
    session = devtools.send("Target.attachToTarget",
                            {"targetId": target, "flatten": True})["sessionId"]
    for domain in ("Page", "Network", "Runtime"):
        devtools.send(f"{domain}.enable", session=session)
    devtools.events.clear()
    devtools.send("Page.navigate", {"url": url}, session=session)
    devtools.wait_event("Page.loadEventFired", session)
    report = devtools.send("Runtime.evaluate",
                           {"expression": IMAGES_JS, "awaitPromise": True,
                            "returnByValue": True}, session=session)
    report = report["result"]["value"]
    time.sleep(0.2)  # let late failures arrive
    devtools.send("Runtime.evaluate", {"expression": "1"}, session=session)
    urls = {e["params"]["requestId"]: e["params"]["request"]["url"]
            for e in devtools.events
            if e.get("method") == "Network.requestWillBeSent"
            and e.get("sessionId") == session}
    failed = [f"{urls.get(e['params']['requestId'], '?')}: "
              f"{e['params'].get('errorText')}" for e in devtools.events
              if e.get("method") == "Network.loadingFailed"
              and e.get("sessionId") == session
              and not e["params"].get("canceled")]
    failed += [f"{e['params']['response']['url']}: HTTP "
               f"{e['params']['response']['status']}" for e in devtools.events
               if e.get("method") == "Network.responseReceived"
               and e.get("sessionId") == session
               and e["params"]["response"].get("status", 200) >= 400]
    errors = [e["params"]["exceptionDetails"].get("text", "")
              + " " + str(e["params"]["exceptionDetails"].get("exception", {})
                          .get("description", ""))
              for e in devtools.events
              if e.get("method") == "Runtime.exceptionThrown"
              and e.get("sessionId") == session]
    devtools.send("Target.closeTarget", {"targetId": target})
    devtools.events.clear()
    return report, failed, errors


@pytest.fixture(scope="module")
def browser_reports(site):
    browser = _chromium()
    with tempfile.TemporaryDirectory(prefix="cdl-docs-chromium-") as profile:
        devtools = DevTools(browser, profile)
        try:
            devtools.send("Target.getTargets", timeout=60.)
            yield {page: _open(devtools, (site / page).resolve().as_uri())
                   for page, _, _ in BROWSER_PAGES}
        finally:
            devtools.close()


@pytest.mark.parametrize("page, min_images, must_have", BROWSER_PAGES,
                         ids=[p for p, _, _ in BROWSER_PAGES])
def test_page_loads_in_chromium_with_its_images(browser_reports, page, min_images,
                                                must_have):
    report, failed, errors = browser_reports[page]
    assert report["title"], f"{page}: no title"
    assert report["text"] > 200, f"{page}: almost no text rendered"
    assert not failed, f"{page}: failed requests:\n" + "\n".join(failed)
    assert not errors, f"{page}: script errors:\n" + "\n".join(errors)
    images = report["images"]
    assert len(images) >= min_images, f"{page}: {len(images)} images"
    not_decoded = [i["src"] for i in images
                   if not (i["complete"] and i["width"] > 0)]
    assert not not_decoded, f"{page}: images not loaded:\n" + "\n".join(not_decoded)
    assert must_have is None or any(must_have in i["src"] for i in images), \
        f"{page}: no image matching {must_have!r}"
