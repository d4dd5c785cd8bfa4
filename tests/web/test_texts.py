"""The Dutch catalogue and the Belgian-Dutch formats (no browser needed)."""

from __future__ import annotations

import ast
import string
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web import core, forms, i18n
from api.web.timeline import layout
from schemas.fbu_rules import check_eligibility, provisional_note
from vangnet.rulebooks.rulebook import load_fbu_rule_book

ROOT = Path(__file__).resolve().parents[2]
WEB = ROOT / "api" / "web"
REFUSING = {"invalid", "out_of_order", "Refusal", "ApplicationError"}  # the calls that carry a refusal's text
NEVER_ON_A_PAGE = {"api/codec_routes.py", "workflows/retention_sweep.py"}  # the codec and the retention sweep


def _field(expr: ast.expr) -> str:
    """The field name a template uses for a value: the attribute or variable it comes from."""
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    if isinstance(expr, ast.Call) and isinstance(expr.func, ast.Attribute):
        return _field(expr.func.value)
    return "value"


def _template(node: ast.expr) -> str | None:
    """A refusal's text as a catalogue template: an f-string's values become ``{field}`` (repeats numbered)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value.replace("{", "{{").replace("}", "}}")
    if not isinstance(node, ast.JoinedStr):
        return None
    parts, seen = [], dict[str, int]()
    for part in node.values:
        if isinstance(part, ast.Constant):
            parts.append(str(part.value).replace("{", "{{").replace("}", "}}"))
        elif isinstance(part, ast.FormattedValue):
            name = _field(part.value)
            seen[name] = seen.get(name, 0) + 1
            parts.append("{" + (name if seen[name] == 1 else f"{name}{seen[name]}") + "}")
    return "".join(parts)


def refusal_texts() -> Iterator[tuple[str, str]]:
    """Every literal refusal text of the workflows and the API's routes that a page can show, as a template."""
    for path in sorted([*(ROOT / "workflows").glob("*.py"), *(ROOT / "api").glob("*.py")]):
        where = str(path.relative_to(ROOT))
        if where in NEVER_ON_A_PAGE:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.Call) or not node.args:
                continue
            func = node.func
            name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else ""
            if name in REFUSING:
                text = _template(node.args[1] if name == "Refusal" and len(node.args) > 1 else node.args[0])
                if text is not None:
                    yield where, text


def test_every_text_of_the_pages_is_in_the_dutch_catalogue() -> None:
    with (WEB / "locale" / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        po = read_po(f)
    translated = {m.id for m in po if m.id and m.string}
    found = extract_from_dir(str(WEB), [("**.py", "python"), ("templates/**.html", "jinja2")],
                             {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}, keywords={"_": None})
    ids = {message for _, _, message, _, _ in found if isinstance(message, str) and message}
    ids |= set(forms.BY_TYPE.values()) | set(core.MESSAGES.values())
    assert not ids - translated, f"not translated: {sorted(ids - translated)}"


def test_euro_amounts_and_dates_read_the_belgian_way() -> None:
    assert i18n.euro(Decimal("1080")) == "1.080,00"
    assert i18n.euro("1234567.5") == "1.234.567,50"
    assert i18n.percent(Decimal("0.45")) == "45%"
    assert i18n.day(date(2026, 11, 30)) == "30 november 2026"
    assert i18n.day("2026-03-01") == "1 maart 2026"
    assert forms.amount("2.400,00") == "2400.00" and forms.amount("800") == "800" and forms.amount("€ 1,5") == "1.5"


def test_timeline_labels_of_one_lane_never_overlap() -> None:
    same_day = [(date(2026, 11, 30), f"Gebeurtenis {i}") for i in range(6)]
    deadlines = [(date(2026, 12, 10), "volgende afbetaling"), (date(2026, 12, 14), "betaling aan verhuurder")]
    t = layout(same_day, deadlines, date(2026, 11, 30))
    for kind in ("event", "deadline"):
        marks = [m for m in t.marks if m.kind == kind]
        lanes = {m.lane for m in marks}
        assert len(lanes) == len(marks)  # here every label needs its own lane
    assert all(0 <= m.x <= t.width for m in t.marks)


def test_pydantic_refusals_read_as_dutch_sentences_per_field() -> None:
    from schemas.fbu import OpenFbuCase, ResubmitClaim

    _, errors = forms.validate(ResubmitClaim, {"comment": "ok"})
    assert errors == {"comment": "Te kort: minstens 3 tekens."}
    _, errors = forms.validate(OpenFbuCase, {"tenant": {"name": "", "national_number": "85.07.30-033.29",
                                                         "iban": "BE00"}})
    assert errors["tenant.name"] == "Vul dit veld in."
    assert errors["tenant.national_number"].startswith("Dit is geen geldig rijksregisternummer")
    assert errors["tenant.iban"].startswith("Dit IBAN-nummer is niet geldig")
    assert errors["dwelling"] == "Vul dit veld in."


def test_every_refusal_a_page_can_show_has_its_dutch_template() -> None:
    with (WEB / "locale" / "nl" / "LC_MESSAGES" / "messages.po").open("rb") as f:
        dutch = {m.id: str(m.string) for m in read_po(f) if isinstance(m.id, str) and m.id and m.string}
    texts = list(refusal_texts())
    assert len(texts) > 50  # the extraction finds the workflows' and routes' texts
    missing = [(where, text) for where, text in texts if not dutch.get(text) and text != "Not found."]
    assert not missing, f"refusals without a Dutch template in messages.po: {missing}"
    for _, text in texts:
        if text in dutch:
            fields = {f for _, f, _, _ in string.Formatter().parse(text) if f}
            used = {f for _, f, _, _ in string.Formatter().parse(dutch[text]) if f}
            assert used <= fields, (text, used - fields)


def test_a_refusal_reads_in_dutch_with_its_values_the_belgian_way() -> None:
    assert i18n.refusal("The hearing date 2026-11-01 lies in the past.") == (
        "De datum van de hoorzitting 1 november 2026 ligt in het verleden.")
    assert i18n.refusal("The landlord payment (600.00) plus the repayment plan (1700.00) must equal the arrears "
                        "(2400.00).") == ("De betaling aan de verhuurder (€ 600,00) en het afbetalingsplan "
                                          "(€ 1.700,00) samen moeten gelijk zijn aan de huurachterstal (€ 2.400,00).")
    assert i18n.refusal("There is no agreement waiting for signatures; the case is 'in_force'.") == (
        "Er is geen overeenkomst die op handtekeningen wacht; het dossier is nu: lopend.")
    assert i18n.refusal("The tenant already signed version 2 of the agreement.") == (
        "Deze partij (huurder) heeft versie 2 van de overeenkomst al ondertekend.")
    assert i18n.refusal("The date 2026-12-01 lies in the future.") == "De datum 1 december 2026 ligt in de toekomst."
    assert i18n.refusal("The step was not applied.") == "De stap werd niet uitgevoerd."  # a fixed text
    assert i18n.refusal("Something nobody wrote a template for.") == "Something nobody wrote a template for."


def test_every_eligibility_reason_and_the_provisional_note_read_in_dutch() -> None:
    """Reasons from the real rule book, each kind once (social housing, SVK before 2022, arrears too early, too
    few or too many months), and the refused opening that joins them: no English left, values carried over."""
    book = load_fbu_rule_book()
    by_id = {s.id: s for s in book.rule_sets}
    covid, old = by_id["fbu-2020-covid"], by_id["fbu-2020"]
    reasons = [
        *check_eligibility(old, market="social", arrears_amount=Decimal("2400.00"), arrears_since=date(2021, 1, 1),
                           monthly_rent=Decimal("800.00"), book=book).reasons,
        *check_eligibility(old, market="svk", arrears_amount=Decimal("800.00"), arrears_since=date(2020, 3, 1),
                           monthly_rent=Decimal("800.00"), book=book).reasons,
        *check_eligibility(covid, market="svk", arrears_amount=Decimal("8000.00"), arrears_since=date(2020, 5, 1),
                           monthly_rent=Decimal("800.00")).reasons,
        provisional_note(by_id["fbu-2022"]),
    ]
    assert len(reasons) == 7, reasons
    dutch = [i18n.refusal(r) for r in reasons]
    for english, translated in zip(reasons, dutch, strict=True):
        assert translated != english and not {"the", "rule", "arrears", "months", "submitted"} & set(
            translated.replace(";", " ").replace(".", " ").split()), (english, translated)
    assert "1 april 2020" in dutch[2] and "tussen 2 en 6 maanden huur" in dutch[3] and "1,00 maanden" in dutch[3]
    joined = i18n.refusal("This case is not eligible for the fund: " + " ".join(reasons[:4]))
    assert joined == "Dit dossier komt niet in aanmerking voor het fonds: " + " ".join(dutch[:4]), joined
