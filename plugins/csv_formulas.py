"""Every CSV the site serves is safe to open in a spreadsheet: a text cell that starts
with ``=``, ``+``, ``-`` or ``@`` gets a leading apostrophe (``timeline.csvsafe``).
The stream is rewritten record by record, so large CSV downloads stay streamed."""

from datasette import hookimpl

from timeline.csvsafe import CsvStreamNeutraliser


@hookimpl
def asgi_wrapper(datasette):
    def wrap(app):
        async def neutralised(scope, receive, send):
            if scope["type"] != "http" or not scope.get("path", "").endswith(".csv"):
                return await app(scope, receive, send)
            rewriter = CsvStreamNeutraliser()
            rewriting = False

            async def send_neutralised(message):
                nonlocal rewriting
                if message["type"] == "http.response.start":
                    headers = message.get("headers", [])
                    kind = dict((k.lower(), v) for k, v in headers).get(b"content-type", b"")
                    rewriting = message["status"] == 200 and kind.startswith(
                        (b"text/csv", b"text/plain")
                    )
                    if rewriting:
                        drop = b"content-length"
                        message = message | {
                            "headers": [(k, v) for k, v in headers if k.lower() != drop]
                        }
                elif rewriting and message["type"] == "http.response.body":
                    more = message.get("more_body", False)
                    body = rewriter.feed(message.get("body", b""))
                    if not more:
                        body += rewriter.close()
                    message = {"type": "http.response.body", "body": body, "more_body": more}
                await send(message)

            await app(scope, receive, send_neutralised)

        return neutralised

    return wrap
