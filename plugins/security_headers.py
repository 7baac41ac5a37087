"""Headers that keep pages from being framed, sniffed or made to load foreign scripts,
and no server file paths in Datasette's introspection pages.

The policy allows scripts and styles from this site only ('unsafe-inline' because
Datasette's own templates carry inline scripts), images from this site or inline, and
no framing by other sites: a page can load nothing from another host.
"""

import os

from datasette import hookimpl

POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self' 'unsafe-inline'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)
HEADERS = [
    (b"content-security-policy", POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"strict-origin-when-cross-origin"),
]
INTROSPECTION = {"/-/databases", "/-/databases.json"}


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def with_headers(scope, receive, send):
            if scope["type"] != "http":
                return await app(scope, receive, send)
            redact = scope.get("path") in INTROSPECTION
            folders = {
                os.path.dirname(os.path.abspath(db.path)) + os.sep
                for db in datasette.databases.values()
                if db.path
            }
            body = []

            async def send_with_headers(message):
                if message["type"] == "http.response.start":
                    names = {name for name, _ in HEADERS}
                    headers = [(k, v) for k, v in message.get("headers", []) if k not in names]
                    if redact:
                        headers = [(k, v) for k, v in headers if k.lower() != b"content-length"]
                    message = message | {"headers": headers + HEADERS}
                elif redact and message["type"] == "http.response.body":
                    body.append(message.get("body", b""))
                    if message.get("more_body"):
                        return
                    text = b"".join(body)
                    for folder in folders:  # "path": "/srv/site/timeline.db" -> "timeline.db"
                        text = text.replace(folder.encode(), b"")
                    message = {"type": "http.response.body", "body": text}
                await send(message)

            await app(scope, receive, send_with_headers)

        return with_headers

    return wrap
