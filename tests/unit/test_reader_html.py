"""The HTML reader on real pages written here (UTF-8, Shift_JIS, EUC-JP), run through the whole segmenter."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from kensaku.ingest.models import Finding
from kensaku.ingest.readers import webpage
from kensaku.ingest.readers.base import ReadError
from kensaku.ingest.readers.webpage import MAX_BYTES, SUFFIXES, read
from kensaku.ingest.segment import segment

PAGE = """\
<!DOCTYPE html>
<html lang="ja">
<head>
<meta charset="utf-8">
<title>市民参画の進め方｜加賀市</title>
<style>p { color: red; }</style>
<script>var menu = "<p>スクリプトの中の段落</p>";</script>
</head>
<body>
<header class="site-header"><a href="/">加賀市ホーム</a><p>文字サイズ 標準 拡大</p></header>
<nav><ul><li>くらし・手続き</li><li>子育て・教育</li></ul></nav>
<div class="topicpath"><a href="/">ホーム</a> &gt; 市政情報</div>
<div id="wrapper">
<main>
<h1>市民参画の進め方</h1>
<p id="intro">市民参画は<strong>まちづくり</strong>の
基本である。</p>
<h2>推進体制</h2>
<p id="ruby"><ruby>加賀<rp>(</rp><rt>かが</rt><rp>)</rp></ruby>市では<a href="/fellow">フェロー</a>を任用した。<br>
外部人材を活用した。</p>
<ul>
  <li id="li1">住民説明会を開く。</li>
  <li id="li2">アンケートを取る。
    <ul><li id="li3">紙とWebの両方で集める。</li></ul>
  </li>
</ul>
<h3>費用</h3>
<table>
  <thead><tr><th>項目</th><th>内容</th></tr></thead>
  <tbody>
  <tr id="row1"><td>予算</td><td>国の補助金を活用した。</td></tr>
  <tr id="row2"><td>人材</td><td>地域おこし協力隊を採用した。</td></tr>
  <tr id="row3"><td>期間</td><td></td></tr>
  </tbody>
</table>
<dl><dt id="dt">実施期間</dt><dd>2020年から3年間</dd></dl>
<div id="mixed">直接のテキスト<span>です</span>。
<p id="inner">中の段落。</p>
<!-- 編集メモ -->
後ろのテキスト。<a href="#">続きを読む</a>
</div>
<script>alert(1)</script>
<noscript>JavaScriptを有効にしてください。</noscript>
<h2>取組を通じた知見・課題</h2>
<p id="lesson">丁寧な説明が必要である。</p>
</main>
<aside><p>関連リンク: 防災マップ</p></aside>
</div>
<footer><p>Copyright 加賀市役所</p></footer>
</body>
</html>
"""

BOILERPLATE = (
    "編集メモ",
    "スクリプト",
    "加賀市ホーム",
    "文字サイズ",
    "くらし・手続き",
    "市政情報",
    "alert",
    "JavaScript",
    "関連リンク",
    "Copyright",
    "color",
)
LESSONS = "取組を通じた知見・課題"


def _line(html: str, marker: str) -> int:
    """1-based line of the first line of ``html`` containing ``marker``."""
    return next(i for i, line in enumerate(html.splitlines(), 1) if marker in line)


def _findings(tmp_path: Path, html: str | bytes, name: str = "参画.html") -> list[Finding]:
    path = tmp_path / name
    path.write_bytes(html.encode("utf-8") if isinstance(html, str) else html)
    return segment(read(path.read_bytes(), path))


@pytest.fixture
def page(tmp_path: Path) -> list[Finding]:
    return _findings(tmp_path, PAGE)


# (element marker, chapter, heading, kind, text): the h1 equals the page title, so it is the title, not a chapter.
PAGE_FINDINGS = [
    ('id="intro"', "", "", "practice", "市民参画はまちづくりの基本である。"),
    ('id="ruby"', "推進体制", "推進体制", "practice", "加賀市ではフェローを任用した。外部人材を活用した。"),
    ('id="li1"', "推進体制", "推進体制", "practice", "住民説明会を開く。"),
    ('id="li2"', "推進体制", "推進体制", "practice", "アンケートを取る。"),
    ('id="li3"', "推進体制", "推進体制", "practice", "紙とWebの両方で集める。"),
    ('id="row1"', "推進体制", "費用", "practice", "項目: 予算／内容: 国の補助金を活用した。"),
    ('id="row2"', "推進体制", "費用", "practice", "項目: 人材／内容: 地域おこし協力隊を採用した。"),
    ('id="row3"', "推進体制", "費用", "practice", "項目: 期間"),
    ('id="dt"', "推進体制", "費用", "practice", "実施期間: 2020年から3年間"),
    ('id="mixed"', "推進体制", "費用", "practice", "直接のテキストです。"),
    ('id="inner"', "推進体制", "費用", "practice", "中の段落。"),
    (
        "後ろのテキスト",
        "推進体制",
        "費用",
        "practice",
        "後ろのテキスト。続きを読む",
    ),  # text after a block: its own line
    ('id="lesson"', LESSONS, LESSONS, "lesson", "丁寧な説明が必要である。"),
]


# Findings that span source lines: element marker -> marker of the line where the finding ends.
PAGE_SPANS = {'id="ruby"': "外部人材を活用した"}  # two <br> pieces, each cited at its own line


def test_contract_constants() -> None:
    assert SUFFIXES == (".html", ".htm")
    assert MAX_BYTES == 50 * 1024 * 1024


def test_page_findings_in_order(page: list[Finding]) -> None:
    assert [f.text for f in page] == [row[-1] for row in PAGE_FINDINGS]


@pytest.mark.parametrize(("marker", "chapter", "heading", "kind", "text"), PAGE_FINDINGS)
def test_page_finding(page: list[Finding], marker: str, chapter: str, heading: str, kind: str, text: str) -> None:
    line, end = _line(PAGE, marker), _line(PAGE, PAGE_SPANS.get(marker, marker))
    finding = next(f for f in page if f.text == text)
    assert finding.id == f"参画:L{line}"
    assert (finding.line_start, finding.line_end, finding.line_unit) == (line, end, "L")
    assert (finding.chapter, finding.heading, finding.kind) == (chapter, heading, kind)
    assert finding.title == "市民参画の進め方"


def test_page_citation(page: list[Finding]) -> None:
    line = _line(PAGE, 'id="row1"')
    finding = next(f for f in page if f.id == f"参画:L{line}")
    assert finding.citation == f"参画.html｜加賀市｜推進体制 › 費用｜L{line}"
    intro = _line(PAGE, 'id="intro"')
    assert next(f for f in page if f.id == f"参画:L{intro}").citation == f"参画.html｜加賀市｜L{intro}"


@pytest.mark.parametrize("word", BOILERPLATE)
def test_boilerplate_is_not_a_finding(page: list[Finding], word: str) -> None:
    assert not any(word in f.text or word in f.citation for f in page)


@pytest.mark.parametrize(
    ("head", "body", "expected"),
    [
        ("<title>市民参画の進め方｜加賀市</title>", "<h1>市民参画の進め方</h1>", "市民参画の進め方"),
        ("<title>市民参画の進め方 - 加賀市</title>", "<h1>市民参画の進め方</h1>", "市民参画の進め方"),
        ("<title>加賀市 | 市民参画の進め方</title>", "<h1>市民参画の進め方</h1>", "市民参画の進め方"),
        ("<title>スマートシティ事例集</title>", "<h1>第1章 概要</h1>", "スマートシティ事例集"),
        ("<title>DX推進 - 2024年度版</title>", "<h2>概要</h2>", "DX推進 - 2024年度版"),
        ("", "<h2>はじめに</h2><h1>加賀市の取組</h1>", "加賀市の取組"),
        ("", "<h2>はじめに</h2>", "事例"),
    ],
)
def test_title(tmp_path: Path, head: str, body: str, expected: str) -> None:
    html = f"<html><head>{head}</head><body>{body}<p>本文です。</p></body></html>"
    findings = _findings(tmp_path, html, name="事例.html")
    assert findings[0].title == expected


JAPANESE_PAGE = """<html><head>{meta}<title>加賀市の取組</title></head>
<body>
<h2>市民参画</h2>
<p>{text}</p>
</body></html>
"""
DIALOGUE = "住民との対話を重ね、合意形成を図った。"


@pytest.mark.parametrize(
    ("encoding", "meta", "text"),
    [
        ("shift_jis", '<meta charset="Shift_JIS">', DIALOGUE),
        ("shift_jis", '<meta http-equiv="Content-Type" content="text/html; charset=Shift_JIS">', DIALOGUE),
        ("shift_jis", "", DIALOGUE),
        # NEC special characters (①, ㈱) are not in Shift_JIS proper; pages labelled Shift_JIS use CP932.
        ("cp932", '<meta charset="shift_jis">', "①説明会、②ワークショップを㈱加賀と開いた。"),
        ("cp932", "", "①説明会、②ワークショップを㈱加賀と開いた。"),
        ("euc_jp", '<meta http-equiv="Content-Type" content="text/html; charset=EUC-JP">', DIALOGUE),
        ("euc_jp", "", DIALOGUE),
        ("utf-8", "", DIALOGUE),
        ("utf-8-sig", "", DIALOGUE),
        ("utf-16", "", DIALOGUE),
        ("utf-8", '<meta charset="Shift_JIS">', DIALOGUE),  # wrong declaration: decoded as UTF-8 anyway
    ],
    ids=[
        "sjis-meta",
        "sjis-http-equiv",
        "sjis-bare",
        "cp932-meta",
        "cp932-bare",
        "eucjp-http-equiv",
        "eucjp-bare",
        "utf8",
        "utf8-bom",
        "utf16-bom",
        "utf8-declared-sjis",
    ],
)
def test_encodings(tmp_path: Path, encoding: str, meta: str, text: str) -> None:
    data = JAPANESE_PAGE.format(meta=meta, text=text).encode(encoding)
    if encoding == "utf-16":
        assert data.startswith(codecs.BOM_UTF16_LE)
    findings = _findings(tmp_path, data, name="取組.html")
    assert [(f.id, f.text, f.chapter, f.title) for f in findings] == [("取組:L4", text, "市民参画", "加賀市の取組")]


BODY_MINUS_NAV = (
    '<div id="gnav"><a>ホーム</a></div><div class="l-sidebar"><p>メニュー</p></div>'
    '<div class="breadcrumb-list">ホーム &gt; 本文</div><p>本文の段落。</p>'
    '<div class="footer-note"><p>注記の段落。</p></div>'
)


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        # No <main>: the body minus navigation; the breadcrumb and the side menu are dropped by class/id. Changed in
        # issue 10: trafilatura also takes the footer note for boilerplate (the rules alone keep it, see below).
        (
            BODY_MINUS_NAV,
            ["本文の段落。"],
        ),
        # Exactly one <article> is the content.
        ("<div><p>広告の文。</p></div><article><h2>記事</h2><p>記事の本文。</p></article>", ["記事の本文。"]),
        # [role=main] is the content; a header inside it is kept (it is the article's header, not the site's).
        (
            '<div><p>外側。</p></div><div role="main"><header><h1>見出し</h1></header><p>中身。</p></div>',
            ["中身。"],
        ),
        # Hidden elements and a search form are dropped; a form around the whole page (ASP.NET) is kept.
        (
            '<form action="/search"><input name="q"><button>検索</button></form>'
            '<form id="aspnetForm"><p hidden>隠し。</p><p style="display: none">非表示。</p><p>表示。</p></form>',
            ["表示。"],
        ),
        # Definition lists: dt without dd stands alone; several dd share the dt.
        (
            "<dl><dt>所在地</dt><dd>石川県加賀市</dd><dt>備考</dt><dt>連絡先</dt><dd>電話</dd><dd>メール</dd></dl>",
            ["所在地: 石川県加賀市", "備考", "連絡先: 電話", "連絡先: メール"],
        ),
        # Row headers (th in the first column) read 見出し: 値; rowspan/colspan are resolved on the grid.
        (
            "<table><tr><th>所在地</th><td>石川県加賀市</td></tr><tr><th>人口</th><td>約6万人</td></tr></table>",
            ["所在地: 石川県加賀市", "人口: 約6万人"],
        ),
        (
            "<table><tr><th>地域</th><th>分野</th><th>内容</th></tr>"
            '<tr><td rowspan="2">加賀市</td><td>防災</td><td>避難所を可視化した。</td></tr>'
            "<tr><td>医療</td><td>遠隔診療を始めた。</td></tr>"
            '<tr><td colspan="3">※令和4年度</td></tr></table>',
            [
                "地域: 加賀市／分野: 防災／内容: 避難所を可視化した。",
                "地域: 加賀市／分野: 医療／内容: 遠隔診療を始めた。",
                "※令和4年度",
            ],
        ),
        # A layout table (holding headings) is read as text, not as rows.
        (
            "<table><tr><td><h2>お知らせ</h2><p>説明会を開きます。</p></td><td><p>右の列。</p></td></tr></table>",
            ["説明会を開きます。", "右の列。"],
        ),
        # blockquote and pre are paragraphs; a line break inside pre joins like any other.
        (
            "<blockquote><p>引用した一文。</p></blockquote><pre>整形済みの\nテキスト</pre>",
            ["引用した一文。", "整形済みのテキスト"],
        ),
        # Inline elements and source line breaks join without a space between Japanese characters and with one
        # next to an ASCII word, as a browser renders them.
        (
            "<p><span>データ</span>\n<span>連携</span>と\n<em>open data</em>\nの<b>活用</b>。</p>",
            ["データ連携と open data の活用。"],
        ),
    ],
    ids=[
        "body-minus-nav",
        "single-article",
        "role-main",
        "hidden-and-forms",
        "dl",
        "row-headers",
        "spans",
        "layout-table",
        "quote-and-pre",
        "inline-joining",
    ],
)
def test_structure(tmp_path: Path, body: str, expected: list[str]) -> None:
    html = f"<html><head><title>t</title></head><body>{body}</body></html>"
    assert [f.text for f in _findings(tmp_path, html)] == expected


def test_line_numbers_past_65535(tmp_path: Path) -> None:
    filler = "<p>前の段落。</p>\n" + "\n" * 70_000
    html = f"<html><head><title>長いページ</title></head><body>\n{filler}<p>七万行目の段落。</p>\n</body></html>\n"
    findings = _findings(tmp_path, html, name="長い.html")
    assert [(f.id, f.text) for f in findings] == [
        ("長い:L2", "前の段落。"),
        (f"長い:L{_line(html, '七万行目')}", "七万行目の段落。"),
    ]
    assert _line(html, "七万行目") > 70_000


def test_too_deep_nesting_is_reported(tmp_path: Path) -> None:
    html = "<html><body><p>前の段落。</p>" + "<div>" * 300 + "<p>深い段落。</p>" + "</div>" * 300 + "</body></html>"
    path = tmp_path / "深い.html"
    path.write_text(html, encoding="utf-8")
    doc = read(path.read_bytes(), path)
    assert [line for line in doc.lines if line] == ["前の段落。"]
    assert doc.problems == ("elements are nested more than 256 deep; the text after that point was not read",)


def test_xhtml_declaration_and_crlf_keep_lines(tmp_path: Path) -> None:
    html = '<?xml version="1.0" encoding="UTF-8"?>\r\n<html xmlns="http://www.w3.org/1999/xhtml">\r\n<body>\r\n\r\n<p>四行目の段落。</p>\r\n</body></html>'
    assert [(f.id, f.text) for f in _findings(tmp_path, html, name="x.html")] == [("x:L5", "四行目の段落。")]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 8, "is binary data"),
        (bytes(range(1, 32)) * 100, "looks like binary data"),
        (
            b"<html><body><nav><a>Home</a></nav><script>document.write('x')</script><footer>c</footer></body></html>",
            "has no text in its main content",
        ),
        (b"<html><head><title>JS</title></head><body><div id='app'></div></body></html>", "has no text in its main"),
    ],
    ids=["png", "control-bytes", "only-boilerplate", "javascript-app"],
)
def test_bad_input(tmp_path: Path, data: bytes, message: str) -> None:
    path = tmp_path / "壊れた.html"
    path.write_bytes(data)
    with pytest.raises(ReadError, match=message) as info:
        read(path.read_bytes(), path)
    assert "壊れた" not in str(info.value)
    assert str(info.value).rstrip().endswith(".")


def test_rules_alone_keep_a_footer_note(tmp_path: Path) -> None:
    """``extractor=False``: the hand-made rules only (``footer-note`` is not a footer to them)."""
    path = tmp_path / "規則.html"
    path.write_text(f"<html><head><title>t</title></head><body>{BODY_MINUS_NAV}</body></html>", encoding="utf-8")
    assert [f.text for f in segment(read(path.read_bytes(), path, extractor=False))] == ["本文の段落。", "注記の段落。"]


def test_extractor_finding_nothing_falls_back_to_the_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webpage, "main_text", lambda root: "")
    findings = _findings(tmp_path, PAGE)
    assert [f.text for f in findings] == [row[-1] for row in PAGE_FINDINGS]


def test_extractor_keeping_no_block_falls_back_to_the_rules(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(webpage, "main_text", lambda root: "どのブロックにもない文章だけの本文です")
    assert [f.text for f in _findings(tmp_path, PAGE)] == [row[-1] for row in PAGE_FINDINGS]


def test_blocks_are_cited_where_their_text_starts(tmp_path: Path) -> None:
    html = (
        "<html><head><title>行</title></head><body>\n<h1>\n  見出しの行\n</h1>\n<p class='x'>\n"
        "  本文は次の行から始まる。\n</p>\n<p>同じ行の段落。<br>\n改行の後。</p>\n</body></html>\n"
    )
    doc = read(html.encode(), tmp_path / "行.html")
    cited = {line: doc.origin(i) for i, line in enumerate(doc.lines, 1) if line}
    assert cited == {
        "# 見出しの行": _line(html, "見出しの行"),
        "本文は次の行から始まる。": _line(html, "本文は次の行"),
        "同じ行の段落。": _line(html, "同じ行の段落"),
        "改行の後。": _line(html, "改行の後"),
    }


BR_PAGE = "<html><head><title>改行</title></head><body>\n{body}\n</body></html>\n"  # the body starts on line 2


@pytest.mark.parametrize(
    ("body", "lines", "findings"),
    [
        # Three sentences on three source lines: three lines, each cited where it is; one paragraph, one finding.
        (
            "<p>説明会を開いた。<br>\nアンケートを取った。<br>\n結果を公表した。</p>",
            [("説明会を開いた。", 2), ("アンケートを取った。", 3), ("結果を公表した。", 4)],
            [("説明会を開いた。アンケートを取った。結果を公表した。", "L2–4")],
        ),
        # A <br> inside a sentence: the pieces join without a space, in the same finding.
        (
            "<p>加賀市は市民参画の<br>\n推進体制を整えた。</p>",
            [("加賀市は市民参画の", 2), ("推進体制を整えた。", 3)],
            [("加賀市は市民参画の推進体制を整えた。", "L2–3")],
        ),
        # Between ASCII words the join keeps a space.
        (
            "<p>目指すのは Society<br>\n5.0 の実現である。</p>",
            [("目指すのは Society", 2), ("5.0 の実現である。", 3)],
            [("目指すのは Society 5.0 の実現である。", "L2–3")],
        ),
        # A tail starting with line breaks is cited where its text is, not at the <br>.
        (
            "<p>防災訓練を行った。<br>\n\n\n    避難所を開設した。</p>",
            [("防災訓練を行った。", 2), ("避難所を開設した。", 5)],
            [("防災訓練を行った。避難所を開設した。", "L2–5")],
        ),
        # <br/>, <br />, <BR> and a <br> tag across lines: the same cut.
        (
            "<p>晴れ。<br/>曇り。<br />雨。<BR>雪。<br\n/>霧。</p>",
            [("晴れ。", 2), ("曇り。", 2), ("雨。", 2), ("雪。", 2), ("霧。", 3)],
            [("晴れ。曇り。雨。雪。霧。", "L2–3")],
        ),
        # A blank piece (<br><br>, <br>&nbsp;<br>) starts a new paragraph: separate findings, each at its line.
        (
            "<p>防災訓練を行った。<br>\n<br>\n避難所を開設した。<br>\n&nbsp;<br>\n備蓄品を点検した。<br></p>",
            [("防災訓練を行った。", 2), ("避難所を開設した。", 4), ("備蓄品を点検した。", 6)],
            [("防災訓練を行った。", "L2"), ("避難所を開設した。", "L4"), ("備蓄品を点検した。", "L6")],
        ),
        # A piece whose text starts inside an inline element on a later line is cited at that text.
        (
            "<p>詳しくは<br>\n  <a href='/kaga'>\n  市のページ</a>をご覧ください。</p>",
            [("詳しくは", 2), ("市のページをご覧ください。", 4)],
            [("詳しくは市のページをご覧ください。", "L2–4")],
        ),
        # A list item: the first piece is the item, the next continues it.
        (
            "<ul><li>住民説明会<br>\n年2回開催する。</li></ul>",
            [("- 住民説明会", 2), ("年2回開催する。", 3)],
            [("住民説明会年2回開催する。", "L2–3")],
        ),
        # In a heading or a table cell a <br> joins like a source line break: one line.
        (
            "<h2>市民参画の<br>\n進め方</h2>\n<table><tr><td>予算<br>\n補助金</td><td>国の<br>\n補助金を活用した。</td></tr></table>",
            [("## 市民参画の進め方", 2), ("予算補助金／国の補助金を活用した。", 4)],
            [("予算補助金／国の補助金を活用した。", "L4")],
        ),
    ],
    ids=[
        "three-sentences",
        "inside-sentence",
        "ascii-words",
        "tail-newlines",
        "variants",
        "blank-piece",
        "inline",
        "list-item",
        "heading-and-cell",
    ],
)
def test_br_pieces_are_cited_at_their_own_lines(
    tmp_path: Path, body: str, lines: list[tuple[str, int]], findings: list[tuple[str, str]]
) -> None:
    path = tmp_path / "改行.html"
    path.write_text(BR_PAGE.format(body=body), encoding="utf-8")
    doc = read(path.read_bytes(), path)
    assert [(line, doc.origin(i)) for i, line in enumerate(doc.lines, 1) if line] == lines
    assert [(f.text, f.location) for f in segment(doc)] == findings


def test_character_references_to_controls_are_not_text() -> None:
    """``&#1;`` and ``&#xFFFF;`` put characters XML cannot hold into lxml's tree; dropping a menu next to them used
    to raise lxml's ValueError out of the reader (found by tests/e2e/test_fuzz.py)."""
    page = (
        "<html><body><nav>メニュー</nav>&#1;前文&#xFFFF;<main><p>本文&#1;です。市の取組を紹介します。</p></main>"
        "<footer>x</footer>&#2;後</body></html>"
    ).encode()
    assert read(page, Path("a.html")).lines == ("本文です。市の取組を紹介します。", "")
