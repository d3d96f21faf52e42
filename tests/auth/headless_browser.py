"""A stand-in for a person's browser, for $BROWSER: opens the sign-in URL, submits the page's form.

``webbrowser`` waits for this command to exit, while MSAL only starts serving its loopback
redirect listener afterwards; so the parent returns at once and a detached child does the work.
"""

from __future__ import annotations

import html.parser
import subprocess
import sys

import requests


class _Form(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        elif tag == "input" and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""


def follow(url: str) -> None:
    page = requests.get(url, timeout=10)
    page.raise_for_status()
    form = _Form()
    form.feed(page.text)
    requests.post(form.action, data=form.fields, timeout=10)


if __name__ == "__main__":
    if sys.argv[1] == "--child":
        follow(sys.argv[2])
    else:
        subprocess.Popen([sys.executable, __file__, "--child", sys.argv[1]], start_new_session=True,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
