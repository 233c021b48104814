"""Validates bench/seedqa (queries + qrels) against the report and the existing eval set.

Run from the repository root:  .venv/bin/python bench/seedqa/check.py
"""

import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
DOC = "smartcity_model_project_cases"
lines = (ROOT / "corpus" / f"{DOC}.txt").read_text(encoding="utf-8").splitlines()
FIRST_BANNER = 47
MUNIS = [
    "加賀市",
    "会津若松市",
    "高松市",
    "北海道更別村",
    "松山市",
    "つくば市",
    "三重県多気町ほか",
    "仙台市（泉区）",
    "前橋市",
    "大阪府河内長野市",
]
SHORT = {
    "北海道更別村": "更別村",
    "三重県多気町ほか": "多気町",
    "仙台市（泉区）": "仙台市",
    "大阪府河内長野市": "河内長野市",
}
BANNER = re.compile(r"^(\d)\.\s*(\S+?)\s*(?:～\s*(.+?)～)?\s*$")

errors = []


def rule_ok(n: int) -> str | None:
    """The corpus/eval/README.md id rule, read off the text."""
    if n <= FIRST_BANNER or n > len(lines):
        return "before first banner / out of range"
    t = lines[n - 1].strip()
    if not t:
        return "blank"
    if t.startswith("■") or t.startswith("出典") or t.startswith("ほかの出典") or t.startswith("※"):
        return "heading/source line"
    if BANNER.match(t):
        return "banner"
    if any(t.startswith(m) for m in MUNIS) and len(t) < 20:
        return "municipality line"
    if t.startswith("- "):
        if len(t) < 32 and "。" not in t:
            return "short figure bullet"
        return None
    if n > 1 and lines[n - 2].strip() and not lines[n - 2].strip().startswith("- "):
        return "not the start of a paragraph"
    if not t.endswith("。") or len(t) < 20:
        return "prose line not a sentence paragraph (figure label?)"
    return None


# Where each line sits: chapter (from the banner) and municipality.
chapter_of, muni_of = {}, {}
ch, mu = None, None
for i, raw in enumerate(lines, 1):
    t = raw.strip()
    m = BANNER.match(t)
    if m and i >= FIRST_BANNER:
        ch = m.group(2) + (("・" + re.sub(r"^[①-⑳]\s*", "", m.group(3))) if m.group(3) and m.group(1) == "1" else "")
    for name in MUNIS:
        if t.startswith(name) and len(t) < 20:
            mu = name
    chapter_of[i], muni_of[i] = ch, mu

# Segmenter cross-check (optional: needs the project's package).
seg_starts = None
try:
    sys.path.insert(0, str(ROOT))
    from kensaku.ingest.read import read_document
    from kensaku.ingest.segment import segment

    seg_starts = {f.line_start for f in segment(read_document(ROOT / "corpus" / f"{DOC}.txt"))}
except Exception as exc:  # pragma: no cover
    print("segmenter cross-check skipped:", exc)

queries = [json.loads(row) for row in (HERE / "queries.jsonl").read_text(encoding="utf-8").splitlines() if row.strip()]
qtext = {q["_id"]: q["text"] for q in queries}
if len(qtext) != len(queries):
    errors.append("duplicate query ids")
old = [
    json.loads(row)
    for row in (ROOT / "corpus/eval/queries.jsonl").read_text(encoding="utf-8").splitlines()
    if row.strip()
]
# corpus/eval holds q01-q64 and, merged, these questions: check the merge, then compare with q01-q64 only.
mine = {q["_id"] for q in queries}
merged = [q for q in old if q["_id"] in mine]
if merged and merged != queries:
    errors.append("corpus/eval/queries.jsonl holds a different copy of these questions: merge again")
for split in ("dev", "test"):
    ours = (HERE / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
    theirs = (ROOT / "corpus/eval/qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()[1:]
    if merged and [r for r in theirs if r.split("\t")[0] in mine] != ours:
        errors.append(f"corpus/eval/qrels/{split}.tsv holds different judgments for these questions: merge again")
old = [q for q in old if q["_id"] not in mine]
oldtext = {q["text"] for q in old}
oldids = {q["_id"] for q in old}
for qid, t in Counter(q["text"] for q in queries).items():
    if t > 1:
        errors.append(f"duplicate query text: {qid}")
for q in queries:
    if q["text"] in oldtext:
        errors.append(f"{q['_id']} text duplicates an existing query")
    if q["_id"] in oldids:
        errors.append(f"{q['_id']} id clashes with an existing query")

judg = {}
split_of = {}
for split in ("dev", "test"):
    rows = (HERE / "qrels" / f"{split}.tsv").read_text(encoding="utf-8").splitlines()
    if rows[0] != "query-id\tcorpus-id\tscore":
        errors.append(f"{split}: bad header")
    for r in rows[1:]:
        qid, cid, score = r.split("\t")
        if qid not in qtext:
            errors.append(f"{split}: {qid} not in queries.jsonl")
        if qid in split_of and split_of[qid] != split:
            errors.append(f"{qid} in both splits")
        split_of[qid] = split
        m = re.fullmatch(DOC + r":L(\d+)", cid)
        if not m:
            errors.append(f"{qid}: bad id {cid}")
            continue
        n = int(m.group(1))
        why = rule_ok(n)
        if why:
            errors.append(f"{qid}: L{n} is not a finding line ({why}): {lines[n - 1][:40]!r}")
        if seg_starts is not None and n not in seg_starts:
            errors.append(f"{qid}: L{n} is not a finding start for the segmenter")
        if (qid, n) in judg:
            errors.append(f"{qid}: L{n} judged twice")
        judg[(qid, n)] = int(score)
        if int(score) not in (1, 2):
            errors.append(f"{qid}: bad score {score}")

per_q = defaultdict(dict)
for (qid, n), s in judg.items():
    per_q[qid][n] = s
for qid in qtext:
    if qid not in per_q:
        errors.append(f"{qid}: no judgments")
    elif list(per_q[qid].values()).count(2) != 1:
        errors.append(f"{qid}: {list(per_q[qid].values()).count(2)} grade-2 findings")

# Counts
print(f"queries: {len(queries)}  ({queries[0]['_id']}..{queries[-1]['_id']})")
print(f"{'split':6} {'queries':>7} {'judgments':>9} {'grade2':>6} {'grade1':>6}")
for split in ("dev", "test"):
    qs = [q for q in qtext if split_of.get(q) == split]
    js = [(q, n) for (q, n) in judg if split_of.get(q) == split]
    g2 = sum(1 for k in js if judg[k] == 2)
    print(f"{split:6} {len(qs):7} {len(js):9} {g2:6} {len(js) - g2:6}")
g2 = sum(1 for v in judg.values() if v == 2)
print(f"{'total':6} {len(qtext):7} {len(judg):9} {g2:6} {len(judg) - g2:6}")
sizes = [len(v) for v in per_q.values()]
distinct = len({n for (_, n) in judg})
print(
    f"relevant per query: min {min(sizes)} max {max(sizes)} mean {sum(sizes) / len(sizes):.2f};",
    f"distinct findings {distinct}",
)


def g2line(qid: str) -> int:
    return next(n for n, s in per_q[qid].items() if s == 2)


print("\nchapter of the grade-2 finding (dev / test):")
chap = defaultdict(Counter)
for qid in qtext:
    chap[chapter_of[g2line(qid)]][split_of[qid]] += 1
for c, cnt in chap.items():
    print(f"  {c}: {cnt['dev']} / {cnt['test']}")
print("\nmunicipality of the grade-2 finding / of any judged finding:")
m2 = Counter(muni_of[g2line(q)] for q in qtext)
many = Counter(m for q in qtext for m in {muni_of[n] for n in per_q[q]})
for m in MUNIS:
    print(f"  {m}: {m2[m]} / {many[m]}")
named = [
    q
    for q in qtext
    if any(SHORT.get(m, m).replace("（泉区）", "") in qtext[q] or m in qtext[q] for m in MUNIS)
    or ("会津" in qtext[q] and "会津大学" not in qtext[q])
    or "泉パーク" in qtext[q]
]
cross = [q for q in qtext if len({muni_of[n] for n in per_q[q]}) > 1]
print(f"\nname a municipality: {len(named)}  ({', '.join(named)})")
print(f"cross-city (relevant findings from more than one municipality): {len(cross)}")
print(f"  of which dev {sum(split_of[q] == 'dev' for q in cross)}, test {sum(split_of[q] == 'test' for q in cross)}")
print()
if errors:
    print(f"ERRORS ({len(errors)}):")
    for e in errors:
        print("  " + e)
    sys.exit(1)
print(
    "OK: every id is a finding line (text rule"
    + (" and segmenter" if seg_starts else "")
    + "), one grade 2 per query, no query without judgments, no duplicate text (also vs corpus/eval)"
)
