"""Hypothesis strategies: whole banks in the interchange form (trees, all five question types,
Chinese text, pinned options, partial scoring, fill-in-the-blank alternatives)."""
from __future__ import annotations

from decimal import Decimal

from hypothesis import strategies as st

from exam.banks.interchange import BankDocument, ElementNode, ItemData, OccupationData, OptionData
from exam.banks.qtypes import normalise_text

CHINESE = "电工安全电压电流测量绝缘导体接地线路开关保护设备仪表操作维修养老护理烹调火候刀工"
ALPHABET = CHINESE + "ABCxyzΩ0123456789（）。，、“”：？!#%&*+-=<>[]{}'\"/\\ 　"


def _text(min_size=1, max_size=24, extra=""):
    return st.text(alphabet=ALPHABET + extra, min_size=min_size, max_size=max_size) \
        .map(str.strip).filter(bool).filter(lambda t: "[[" not in t)


plain_text = _text()
#: Stems, explanations and reference answers may run over several lines.
long_text = _text(max_size=60, extra="\n").map(lambda t: "\n".join(line.strip() for line in t.split("\n")))\
    .map(str.strip).filter(bool)
#: Fill-in-the-blank alternatives: sheets separate blanks by ; and alternatives by |.
alternative = _text(max_size=8).filter(lambda t: not any(c in t for c in ";；|｜"))
points = st.none() | st.decimals(min_value=Decimal("0.5"), max_value=Decimal("100"), places=2)
difficulty = st.none() | st.integers(1, 5)
external_id = st.none() | st.from_regex(r"[A-Z][A-Z0-9-]{0,10}", fullmatch=True)


@st.composite
def options(draw):
    texts = draw(st.lists(plain_text, min_size=2, max_size=6, unique_by=normalise_text))
    pinned = draw(st.booleans())
    return [OptionData("ABCDEF"[i], text, pin_last=pinned and i == len(texts) - 1) for i, text in enumerate(texts)]


@st.composite
def item(draw, point_codes: list[str]):
    type_ = draw(st.sampled_from(["single", "multiple", "true_false", "fill_blank", "short_answer"]))
    content = ItemData(type=type_, stem=draw(long_text), point_code=draw(st.sampled_from(point_codes)),
                       points=draw(points), difficulty=draw(difficulty), external_id=draw(external_id),
                       explanation=draw(st.none() | long_text))
    if type_ in ("single", "multiple"):
        content.options = draw(options())
        keys = [o.key for o in content.options]
        if type_ == "single":
            content.answer = draw(st.sampled_from(keys))
        else:
            content.answer = sorted(draw(st.lists(st.sampled_from(keys), min_size=1, unique=True)))
            if draw(st.booleans()):
                content.config = {"scoring": "partial"}
    elif type_ == "true_false":
        content.answer = draw(st.booleans())
    elif type_ == "fill_blank":
        blanks = draw(st.integers(1, 3))
        parts = draw(st.lists(plain_text, min_size=blanks + 1, max_size=blanks + 1))
        content.stem = parts[0] + "".join(f"[[{n}]]{parts[n]}" for n in range(1, blanks + 1))
        content.answer = draw(st.lists(st.lists(alternative, min_size=1, max_size=3, unique=True),
                                       min_size=blanks, max_size=blanks))
        if draw(st.booleans()):
            content.config = {"case_sensitive": True}
    else:
        content.answer = draw(st.none() | long_text)
    return content


@st.composite
def element_tree(draw):
    """Two to four areas, nested up to three levels, with weights on some areas."""
    counter = iter(range(1, 10_000))

    def area(prefix: str, depth: int) -> ElementNode:
        children = []
        for n in range(1, draw(st.integers(1, 3)) + 1):
            code = f"{prefix}.{n}"
            if depth < 2 and draw(st.booleans()):
                children.append(area(code, depth + 1))
            else:
                children.append(ElementNode(code, draw(plain_text), draw(st.sampled_from("XYZ"))))
        weight = draw(st.none() | st.decimals(min_value=0, max_value=100, places=1))
        return ElementNode(prefix, draw(plain_text), None, weight, children)

    next(counter)
    return [area(str(n), 0) for n in range(1, draw(st.integers(2, 4)) + 1)]


@st.composite
def bank_document(draw, max_items: int = 12):
    roots = draw(element_tree())
    point_codes = [n.code for root in roots for n, _ in root.walk() if n.is_point]
    levels = sorted(draw(st.lists(st.integers(1, 5), min_size=1, max_size=5, unique=True)), reverse=True)
    occupation = OccupationData(
        code=draw(st.from_regex(r"[1-8]-[0-9]{2}-[0-9]{2}-[0-9]{2}", fullmatch=True)),
        name=draw(plain_text), name_en=draw(st.none() | st.from_regex(r"[A-Z][a-z]{2,12}", fullmatch=True)),
        levels=levels, work_types=draw(st.lists(_text(max_size=6).filter(
            lambda t: not any(c in t for c in ",，、;；\n") and t != "--"), max_size=3, unique=True)))
    items = draw(st.lists(item(point_codes), min_size=1, max_size=max_items,
                          unique_by=lambda i: i.external_id or id(i)))
    return BankDocument(occupation=occupation, level=draw(st.sampled_from(levels)),
                        bank_name=draw(st.none() | plain_text), elements=roots, items=items)


def normalised(doc: BankDocument, *, tree: bool = True, occupation: bool = True) -> tuple:
    """What must survive a round trip: no locations, no problems, no format name."""
    def clean_node(node: ElementNode) -> ElementNode:
        return ElementNode(node.code, node.name, node.importance if node.is_point else None,
                           None if node.weight is None else Decimal(node.weight).normalize(),
                           [clean_node(c) for c in node.children])

    def clean_item(item: ItemData) -> ItemData:
        return ItemData(item.type, item.stem, [OptionData(o.key, o.text, o.pin_last) for o in item.options],
                        item.answer, None if item.points is None else Decimal(item.points).normalize(),
                        item.difficulty, item.point_code, item.explanation, dict(item.config),
                        external_id=item.external_id, category_path=list(item.category_path),
                        stem_image=item.stem_image)

    return ((doc.occupation, doc.level, doc.bank_name) if occupation else None,
            [clean_node(r) for r in doc.elements] if tree else None,
            [clean_item(i) for i in doc.items])
