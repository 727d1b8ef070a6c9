"""Checks before anything is saved: the tree, merging by code, categories, items, duplicates."""
from __future__ import annotations

from decimal import Decimal

from exam.banks.checks import (check_items, check_tree, find_duplicates, fingerprint, merge_tree,
                                  place_by_category)
from exam.banks.interchange import ElementNode, ItemData, OptionData


def node(code, name=None, importance=None, weight=None, children=(), location=None):
    return ElementNode(code, name or f"名{code}", importance, None if weight is None else Decimal(weight),
                       list(children), location or f"line {code}")


def tree():
    return [node("1", weight=40, children=[node("1.1", importance="X"), node("1.2", importance="Y")]),
            node("2", weight=60, children=[node("2.1", weight=60, children=[node("2.1.1", importance="Z")])])]


def messages(problems):
    return [f"{p.location}: {p.message}" for p in problems]


def test_a_good_tree_has_no_problems():
    assert check_tree(tree()) == []


def test_tree_problems_are_located():
    bad = tree()
    bad[0].children[1].importance = None
    bad[0].children.append(node("1.1", importance="Y", location="line 99"))
    bad[1].weight = Decimal("50")
    bad[1].children[0].importance = "X"
    found = messages(check_tree(bad))
    assert any(m.startswith("line 1.2:") and "needs an importance" in m for m in found)
    assert any(m.startswith("line 99:") and "used twice" in m for m in found)
    assert any("add up to 90, not 100" in m for m in found)
    assert any(m.startswith("line 2.1:") and "only assessment points have an importance" in m for m in found)


def test_sub_area_weights_must_add_up_to_the_parent():
    roots = [node("1", weight=100, children=[node("1.1", weight=30, children=[node("1.1.1", importance="X")]),
                                             node("1.2", weight=30, children=[node("1.2.1", importance="X")])])]
    assert any("under 1 add up to 60" in m for m in messages(check_tree(roots)))


def test_merge_adds_new_codes_and_renames_known_ones():
    incoming = [node("1", "新名称", children=[node("1.3", importance="X", location="line 7")]),
                node("3", weight=10, children=[node("3.1", importance="Y")])]
    merge = merge_tree(tree(), incoming)
    assert merge.problems == []
    assert merge.added == ["1.3", "3", "3.1"]
    assert merge.changed == {"1": {"name": ("名1", "新名称")}}
    index = merge.index()
    assert [c.code for c in index["1"].children] == ["1.1", "1.2", "1.3"]
    assert index["1"].weight == Decimal("40")  # not given in the file: kept


def test_merge_refuses_structural_conflicts():
    incoming = [node("1", children=[node("1.1", children=[node("1.1.1", importance="X")])]),
                node("2", children=[node("1.2", importance="Y", location="line 40")])]
    found = messages(merge_tree(tree(), incoming).problems)
    assert any(m.startswith("line 1.1:") and "assessment point in the bank" in m for m in found)
    assert any(m.startswith("line 40:") and "under 1 in the bank but under 2" in m for m in found)


def test_categories_become_areas_with_one_point_each():
    items = [ItemData("true_false", "甲", answer=True, category_path=["电工基础", "电路"], location="question 1"),
             ItemData("true_false", "乙", answer=True, category_path=["电工基础", "电路"]),
             ItemData("true_false", "丙", answer=True, category_path=["电工基础"]),
             ItemData("true_false", "丁", answer=True),
             ItemData("true_false", "戊", answer=True, point_code="1.1")]
    merge = merge_tree(tree(), [])
    place_by_category(items, merge)
    assert [i.point_code for i in items] == ["C3.1.0", "C3.1.0", "C3.0", "C4.0", "1.1"]
    index = merge.index()
    assert index["C3"].name == "电工基础" and index["C3.1"].name == "电路"
    assert index["C3.1.0"].importance == "Y" and index["C3.1.0"].name == "电路"
    assert index["C4"].name == "未分类"
    assert all("weight" in p.message for p in check_tree(merge.roots))  # new areas carry no weight
    # The same categories again (a second file): matched by name, nothing new.
    again = [ItemData("true_false", "己", answer=True, category_path=["电工基础", "电路"])]
    before = len(merge.added)
    place_by_category(again, merge)
    assert again[0].point_code == "C3.1.0" and len(merge.added) == before


def test_items_are_checked_against_their_type_and_point():
    points = {n.code: n for root in tree() for n, _ in root.walk()}
    items = [ItemData("single", "题", [OptionData("A", "甲"), OptionData("B", "乙")], "C", point_code="1.1",
                      location="row 2"),
             ItemData("true_false", "题", answer=True, point_code="9.9", location="row 3"),
             ItemData("true_false", "题", answer=True, point_code="2.1", location="row 4"),
             ItemData("matching", "题", point_code="1.1", location="row 5"),
             ItemData("true_false", "题", answer=True, location="row 6", external_id="X"),
             ItemData("true_false", "题", answer=True, point_code="1.2", location="row 7", external_id="X")]
    found = messages(check_items(items, points))
    assert any(m.startswith("row 2:") and "option letters" in m for m in found)
    assert any(m.startswith("row 3:") and "9.9 is not in the element tree" in m for m in found)
    assert any(m.startswith("row 4:") and "is an area" in m for m in found)
    assert any(m.startswith("row 5:") and "matching" in m for m in found)
    assert any(m.startswith("row 6:") and "no assessment point" in m for m in found)
    assert any(m.startswith("row 7:") and "used twice" in m for m in found)


def test_duplicates_in_the_file_and_in_the_bank():
    def tf(stem, ext=None, where=None):
        return ItemData("true_false", stem, answer=True, external_id=ext, location=where)

    items = [tf("电压 单位", where="line 1"), tf("电压单位", where="line 2"), tf("电压　单位", where="line 3"),
             tf("已有", where="line 4"), tf("另一题", "OLD-1", "line 5")]
    prints = [fingerprint(i) for i in items]
    assert prints[0] == prints[2] != prints[1]
    found = find_duplicates(items, prints, {fingerprint(tf("已有")): 17}, {"OLD-1": 5})
    assert [(d.index, d.problem.location) for d in found] == [(2, "line 3"), (3, "line 4"), (4, "line 5")]
    assert "line 1" in found[0].problem.message and "#17" in found[1].problem.message
    assert "#5" in found[2].problem.message
