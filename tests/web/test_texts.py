"""The Dutch catalogue and the Belgian-Dutch formats (no browser needed)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from api.web import core, forms, i18n
from api.web.timeline import layout

WEB = Path(__file__).resolve().parents[2] / "api" / "web"


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
