"""Hypothesis strategies for question banks in the interchange form.

Texts follow the shape every format can carry: lines without outer spaces, single spaces
between words, no blank lines (HTML-based formats lay text out that way). They mix
Chinese, ASCII, full-width punctuation and the characters formats treat specially
(``~=#{}:\\<>&"%$/``), so escaping is exercised on every run.
"""
from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from exam.banks.interchange import OPTION_KEYS, BankDocument, ElementNode, ItemData, OptionData
from exam.banks.qtypes import normalise_text

CHINESE = "电流单位是安培伏特欧姆定律题干选项正确错误以上都不对焊接烹调保育护理"
SPECIAL = "~=#{}:\\<>&\"'%$/()（）。，、？！.,;?!*+@]"
ALPHABET = CHINESE + "abcXYZ019" + SPECIAL

words = st.text(alphabet=ALPHABET, min_size=1, max_size=6) | st.just("（　　）")


@st.composite
def texts(draw, max_words=6, lines=True) -> str:
    """One or two lines of words."""
    tokens = draw(st.lists(words, min_size=1, max_size=max_words))
    separators = [" ", ""] + (["\n"] if lines else [])
    text = tokens[0]
    for token in tokens[1:]:
        text += draw(st.sampled_from(separators)) + token
    return text


names = texts(max_words=3, lines=False).filter(lambda t: "/" not in t)


@st.composite
def element_trees(draw) -> list[ElementNode]:
    """Areas two levels deep, then points; codes like 1.2.3, sometimes with a Chinese prefix."""
    prefix = draw(st.sampled_from(["", "甲", "A-"]))
    roots = []
    for r in range(1, draw(st.integers(1, 2)) + 1):
        root = ElementNode(f"{prefix}{r}", draw(names))
        for a in range(1, draw(st.integers(1, 2)) + 1):
            area = ElementNode(f"{prefix}{r}.{a}", draw(names))
            for p in range(1, draw(st.integers(1, 2)) + 1):
                area.children.append(ElementNode(f"{prefix}{r}.{a}.{p}", draw(names),
                                                 importance=draw(st.sampled_from("XYZ"))))
            root.children.append(area)
        roots.append(root)
    return roots


def _options(draw, minimum=2) -> list[OptionData]:
    option_texts = draw(st.lists(texts(max_words=3, lines=False), min_size=minimum, max_size=6,
                                 unique_by=normalise_text))
    pinned = draw(st.integers(0, min(2, len(option_texts) - 1)))
    return [OptionData(OPTION_KEYS[i], text, i >= len(option_texts) - pinned)
            for i, text in enumerate(option_texts)]


@st.composite
def fill_blank_stems(draw, blanks: int) -> str:
    tokens = draw(st.lists(words, min_size=0, max_size=4))
    for number in range(1, blanks + 1):
        tokens.insert(draw(st.integers(0, len(tokens))), f"[[{number}]]")
    # markers must come in order: renumber them by position
    counter = iter(range(1, blanks + 1))
    tokens = [f"[[{next(counter)}]]" if t.startswith("[[") else t for t in tokens]
    text = tokens[0]
    for token in tokens[1:]:
        text += draw(st.sampled_from([" ", "", "\n"])) + token
    return text


@st.composite
def items(draw, points: list[str]) -> ItemData:
    kind = draw(st.sampled_from(["single", "multiple", "true_false", "fill_blank", "short_answer"]))
    item = ItemData(type=kind, stem=draw(texts()))
    if kind == "single":
        item.options = _options(draw)
        item.answer = draw(st.sampled_from([o.key for o in item.options]))
    elif kind == "multiple":
        item.options = _options(draw)
        keys = [o.key for o in item.options]
        item.answer = sorted(draw(st.lists(st.sampled_from(keys), min_size=1, unique=True)))
        item.config = draw(st.sampled_from([{}, {"scoring": "partial"}]))
    elif kind == "true_false":
        item.answer = draw(st.booleans())
    elif kind == "fill_blank":
        blanks = draw(st.integers(1, 3))
        item.stem = draw(fill_blank_stems(blanks))
        item.answer = [draw(st.lists(texts(max_words=2, lines=False), min_size=1, max_size=3,
                                     unique=True)) for _ in range(blanks)]
        item.config = draw(st.sampled_from([{}, {"case_sensitive": True}]))
    else:
        item.answer = draw(st.none() | texts())
    item.points = draw(st.sampled_from([None, Decimal("0.5"), Decimal("1"), Decimal("2.5"),
                                        Decimal("10"), Decimal("100")]))
    item.difficulty = draw(st.none() | st.integers(1, 5))
    item.point_code = draw(st.none() | st.sampled_from(points))
    item.explanation = draw(st.none() | texts())
    item.stem_image = draw(st.none() | st.tuples(st.sampled_from(["image/png", "image/jpeg"]),
                                                 st.binary(min_size=1, max_size=64)))
    return item


@st.composite
def bank_documents(draw, max_items=6) -> BankDocument:
    elements = draw(element_trees())
    points = [node.code for root in elements for node, _ in root.walk() if node.is_point]
    doc = BankDocument(elements=elements, items=draw(st.lists(items(points), min_size=1,
                                                                  max_size=max_items)))
    external_ids = draw(st.lists(st.from_regex(r"\A(Q[0-9]{1,4}|题-[0-9]{1,3}|item\.[a-z]{1,3})\Z"),
                                 min_size=len(doc.items), max_size=len(doc.items), unique=True))
    for item, external_id in zip(doc.items, external_ids):
        item.external_id = draw(st.sampled_from([None, external_id]))
    return doc
