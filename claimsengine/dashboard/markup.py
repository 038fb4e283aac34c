"""HTML building blocks: escaping by default, the page layout, tables and forms.

Every value reaches the page through ``esc`` unless it is ``Markup`` (HTML this package
built from escaped parts), so text from the chain, a query string or an uploaded file is
never taken as markup.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence
from urllib.parse import urlencode

from claimsengine.money import format_cents

__all__ = ["Markup", "cents", "esc", "form_select", "layout", "link", "table", "url"]


class Markup(str):
    """A string of HTML that is safe as it is (built here from escaped parts)."""


def esc(value: object) -> Markup:
    if isinstance(value, Markup):
        return value
    return Markup(html.escape("" if value is None else str(value), quote=True))


def join(parts: Iterable[object], sep: str = "") -> Markup:
    return Markup(sep.join(esc(part) for part in parts))


def cents(value: int | None) -> str:
    """Cents as the project writes money ("1234.50"); empty for None."""
    return "" if value is None else format_cents(value)


def url(path: str, **query: object) -> str:
    """A path with its query string; None and empty values are left out."""
    pairs = {key: str(value) for key, value in query.items() if value not in (None, "")}
    return path + ("?" + urlencode(pairs) if pairs else "")


def link(href: str, text: object, **attrs: str) -> Markup:
    extra = "".join(f' {name.replace("_", "-")}="{esc(value)}"' for name, value in attrs.items())
    return Markup(f'<a href="{esc(href)}"{extra}>{esc(text)}</a>')


def table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    caption: str | None = None,
    right: Iterable[str] = (),
    foot: Sequence[object] | None = None,
    table_id: str | None = None,
) -> Markup:
    """A table with a caption and column headers; columns named in ``right`` (numbers)
    are aligned right. Cells are escaped unless they are Markup."""
    numeric = {headers.index(name) for name in right}

    def cells(values: Sequence[object], tag: str) -> str:
        out = []
        for index, value in enumerate(values):
            cls = ' class="num"' if index in numeric else ""
            scope = ' scope="row"' if tag == "th" else ""
            out.append(f"<{tag}{cls}{scope}>{esc(value)}</{tag}>")
        return "".join(out)

    head = "".join(
        f'<th scope="col"{" class=num" if i in numeric else ""}>{esc(name)}</th>'
        for i, name in enumerate(headers)
    )
    body = "".join(f"<tr>{cells(row, 'td')}</tr>" for row in rows)
    ident = f' id="{esc(table_id)}"' if table_id else ""
    parts = [f"<table{ident}>"]
    if caption:
        parts.append(f"<caption>{esc(caption)}</caption>")
    parts.append(f"<thead><tr>{head}</tr></thead><tbody>{body}</tbody>")
    if foot is not None:
        parts.append(f"<tfoot><tr>{cells(foot, 'td')}</tr></tfoot>")
    parts.append("</table>")
    return Markup("".join(parts))


def definitions(pairs: Iterable[tuple[str, object]], *, dl_id: str | None = None) -> Markup:
    ident = f' id="{esc(dl_id)}"' if dl_id else ""
    items = "".join(f"<div><dt>{esc(k)}</dt><dd>{esc(v)}</dd></div>" for k, v in pairs)
    return Markup(f'<dl class="facts"{ident}>{items}</dl>')


def form_select(
    name: str, label: str, options: Sequence[tuple[str, str]], selected: str | None
) -> Markup:
    """A labelled <select>; ``options`` are (value, text); the first is usually "any"."""
    choices = "".join(
        f'<option value="{esc(value)}"{" selected" if value == (selected or "") else ""}>'
        f"{esc(text)}</option>"
        for value, text in options
    )
    return Markup(
        f'<label for="f-{esc(name)}">{esc(label)}</label>'
        f'<select id="f-{esc(name)}" name="{esc(name)}">{choices}</select>'
    )


def form_input(name: str, label: str, value: str | None, kind: str = "text") -> Markup:
    return Markup(
        f'<label for="f-{esc(name)}">{esc(label)}</label>'
        f'<input id="f-{esc(name)}" name="{esc(name)}" type="{esc(kind)}" '
        f'value="{esc(value or "")}">'
    )


def notice(text: object, *, kind: str = "info", hint: object = None) -> Markup:
    """A message box (role=alert for errors, so screen readers announce it)."""
    role = ' role="alert"' if kind == "error" else ' role="status"'
    extra = f"<p>{esc(hint)}</p>" if hint else ""
    return Markup(f'<div class="notice {esc(kind)}"{role}><p>{esc(text)}</p>{extra}</div>')


NAV = (
    ("/", "Plans"),
    ("/claims", "Claims"),
    ("/reviews", "Reviews"),
    ("/reconcile", "Reconciliation"),
    ("/members", "Members"),
)

STYLE = """
:root{--ink:#1b2430;--muted:#5a6675;--line:#d5dbe3;--bg:#f6f8fa;--accent:#1f5fa8;
--bad:#a61b1b;--good:#1d6b3a;--warn:#8a5a00}
*{box-sizing:border-box}
body{margin:0;font:15px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;
color:var(--ink);background:#fff}
a{color:var(--accent)}
a:focus,button:focus,input:focus,select:focus{outline:3px solid #f0b400;outline-offset:2px}
.skip{position:absolute;left:-999px}.skip:focus{left:8px;top:8px;background:#fff;padding:4px}
header{background:var(--ink);color:#fff;padding:10px 24px;display:flex;gap:24px;
align-items:center;flex-wrap:wrap}
header .brand{font-weight:600;font-size:17px}
header nav ul{list-style:none;display:flex;gap:4px;margin:0;padding:0;flex-wrap:wrap}
header nav a{color:#fff;text-decoration:none;padding:6px 10px;border-radius:4px;display:block}
header nav a[aria-current=page]{background:#ffffff26;font-weight:600}
header nav a:hover{background:#ffffff1a}
main{max-width:1180px;margin:0 auto;padding:16px 24px 40px}
h1{font-size:24px;margin:8px 0 12px}h2{font-size:19px;margin:26px 0 8px}
h3{font-size:16px;margin:18px 0 6px}
table{border-collapse:collapse;width:100%;margin:8px 0 16px;font-variant-numeric:tabular-nums}
caption{text-align:left;font-weight:600;padding:4px 0;color:var(--muted)}
th,td{padding:6px 10px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
thead th{background:var(--bg);font-weight:600;border-bottom:2px solid var(--line)}
tfoot td{font-weight:600;border-top:2px solid var(--line)}
tbody tr:nth-child(even){background:#fafbfc}
.num{text-align:right;white-space:nowrap}
.facts{display:grid;grid-template-columns:repeat(auto-fill,minmax(180px,1fr));gap:8px;margin:8px 0}
.facts div{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:8px 10px}
.facts dt{color:var(--muted);font-size:13px}.facts dd{margin:2px 0 0;font-size:17px;
font-weight:600;font-variant-numeric:tabular-nums}
.card{border:1px solid var(--line);border-radius:8px;padding:4px 18px 12px;margin:16px 0}
form.filters{display:flex;flex-wrap:wrap;gap:10px 16px;align-items:end;background:var(--bg);
padding:10px 12px;border-radius:6px;border:1px solid var(--line)}
form.filters label{display:block;font-size:13px;color:var(--muted)}
form.filters>div{display:flex;flex-direction:column}
input,select,button{font:inherit;padding:5px 8px;border:1px solid #9aa5b1;border-radius:4px}
button{background:var(--accent);color:#fff;border-color:var(--accent);cursor:pointer}
.notice{border-left:4px solid var(--accent);background:var(--bg);padding:6px 14px;margin:12px 0}
.notice.error{border-color:var(--bad);background:#fdf0f0}
.notice.warn{border-color:var(--warn)}
.notice p{margin:6px 0}
.status{display:inline-block;padding:1px 8px;border-radius:10px;font-size:13px;
background:var(--bg);border:1px solid var(--line)}
.status.paid,.status.matched{color:var(--good)}.status.denied,.status.voided{color:var(--bad)}
.status.queued,.status.pending_review{color:var(--warn)}
.pager{display:flex;gap:12px;align-items:center}
figure{margin:8px 0}figcaption{color:var(--muted);font-size:13px}
svg text{font:12px system-ui,sans-serif;fill:var(--muted)}
footer{color:var(--muted);font-size:13px;border-top:1px solid var(--line);padding:10px 24px}
code{font-size:13px;word-break:break-all}
"""


def layout(title: str, body: str, *, current: str, footer: Mapping[str, object]) -> Markup:
    """A whole page: header with the navigation, the body, a footer of chain facts."""
    items = "".join(
        f"<li>{link(href, text, **({'aria_current': 'page'} if href == current else {}))}</li>"
        for href, text in NAV
    )
    facts = " · ".join(f"{esc(k)} {esc(v)}" for k, v in footer.items())
    return Markup(
        "<!doctype html>"
        '<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)} · claims dashboard</title><style>{STYLE}</style></head>"
        '<body><a class="skip" href="#main">Skip to the content</a>'
        '<header><span class="brand">claims dashboard</span>'
        f'<nav aria-label="Pages"><ul>{items}</ul></nav></header>'
        f'<main id="main"><h1>{esc(title)}</h1>{body}</main>'
        f"<footer>{facts} · read-only</footer></body></html>"
    )
