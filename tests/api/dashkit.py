"""A cookie-keeping HTTP client of the dashboard (what a browser does, without one)."""

from __future__ import annotations

import html
import http.client
import re
from dataclasses import dataclass, field
from urllib.parse import urlencode

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Page:
    status: int
    headers: dict[str, str]
    text: str

    @property
    def csrf(self) -> str:
        match = CSRF.search(self.text)
        assert match, self.text
        return match[1]

    @property
    def flashes(self) -> list[str]:
        """The messages the page shows after a change, unescaped."""
        return [html.unescape(m) for m in re.findall(r'<div class="flash \w+"[^>]*>(.*?)</div>',
                                                     self.text, re.S)]


@dataclass
class WebClient:
    host: str
    port: int
    cookies: dict[str, str] = field(default_factory=dict)

    @property
    def origin(self) -> str:
        return f"http://{self.host}:{self.port}"

    def request(self, method: str, path: str, form: dict[str, str] | None = None,
                headers: dict[str, str] | None = None) -> Page:
        sent = dict(headers or {})
        if self.cookies:
            sent["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form).encode()
            sent["Content-Type"] = "application/x-www-form-urlencoded"
            sent.setdefault("Origin", self.origin)
        connection = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            connection.request(method, path, body=body, headers=sent)
            response = connection.getresponse()
            text = response.read().decode()
            got = {k.lower(): v for k, v in response.getheaders() if k.lower() != "set-cookie"}
            for value in response.headers.get_all("Set-Cookie") or []:
                got.setdefault("set-cookie", value)
                name, _, rest = value.partition("=")
                cookie = rest.split(";", 1)[0]
                if cookie:
                    self.cookies[name] = cookie
                else:
                    self.cookies.pop(name, None)
        finally:
            connection.close()
        return Page(response.status, got, text)

    def follow(self, page: Page) -> Page:
        """The page a 303 leads to."""
        assert page.status == 303, (page.status, page.text)
        return self.request("GET", page.headers["location"])

    def sign_in(self, token: str) -> Page:
        return self.follow(self.request("POST", "/sign-in", {"token": token}))
