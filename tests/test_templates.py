"""Every Block Kit template, rendered with hostile input in every language, stays valid, inside limits and inert."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import date
from importlib.resources import files

import pytest
from fake_slack import MESSAGE_BLOCK_LIMIT, _check_blocks, _check_view

from slack_app.domain.asks import ASK_MAX_LENGTH, SCOPE_MAX_LENGTH, THANKS_MAX_LENGTH, Ask, Status
from slack_app.domain.digest import digest_context, summarise
from slack_app.domain.insights import overview, weeks_up_to
from slack_app.domain.offers import NOTE_MAX_LENGTH, Kind, Offer, State
from slack_app.features.digests import DigestSettings, time_zone_choices
from slack_app.features.home import insights_section
from slack_app.features.modals import ask_modal, erase_modal, offer_modal, thanks_modal
from slack_app.text.i18n import ENGLISH, LANGUAGES, language
from slack_app.text.render import escape_mrkdwn, fmt, render

EVERY_LANGUAGE = [language(code) for code in LANGUAGES]

HOSTILE_UNITS = [
    "<!channel>",
    "<!here>",
    "<@U0VICTIM>",
    "<https://evil.example|x>",
    "&",
    '"',
    "\\",
    "{{ 7*7 }}",
    "{% if 1 %}",
    "</script>",
    "\u202e",
    "😀",
    "\n",
    "*_~`",
]


def hostile(length: int) -> str:
    text = " ".join(HOSTILE_UNITS)
    return (text * (length // len(text) + 1))[:length]


def all_amp(length: int) -> str:
    return "&" * length  # each becomes five characters once escaped


def asks() -> list[Ask]:
    made = []
    for text, scope in [
        (hostile(ASK_MAX_LENGTH), hostile(SCOPE_MAX_LENGTH)),
        (all_amp(ASK_MAX_LENGTH), all_amp(SCOPE_MAX_LENGTH)),
    ]:
        for status in Status:
            made.append(
                Ask(
                    team_id="T0TEAM",
                    asker="U0ASKER",
                    text=text,
                    scope=scope,
                    estimate_minutes=240,
                    decline_line="redirect",
                    teammates=[f"U0HELP{n}" for n in range(10)],
                    helpers_needed=5,
                    needed_by=date(2099, 12, 31),
                    status=status,
                    helpers=[f"U0HELP{n}" for n in range(5)],
                )
            )
    return made


def hostile_offers() -> dict[str, Offer]:
    """One offer of each kind in various states, from ten teammates, with lines as long and hostile as allowed."""
    note = hostile(NOTE_MAX_LENGTH)
    made = [
        Offer("U0HELP0", Kind.LATER, by=date(2099, 12, 31), at="15:00", after_needed_by=True),
        Offer("U0HELP0", Kind.SMALLER, minutes=15, note=note),
        Offer(
            "U0HELP0", Kind.SUGGEST, suggested="U0HELP9", suggested_name=hostile(80), note=note, refusal=hostile(200)
        ),
    ]
    every = [Offer(**{**offer.__dict__, "state": state}) for offer in made for state in State]
    return {f"U0HELP{n}": Offer(**{**offer.__dict__, "helper": f"U0HELP{n}"}) for n, offer in enumerate(every[:10])}


CARD_STATES = (
    "open",
    "offered",
    "offer_declined",
    "mine",
    "done",
    "closed_quietly",
    "covered",
    "offered_late",
    "passed",
    "closed",
)


def message_contexts():
    for ask in asks():
        offers = hostile_offers()
        # Every offer on an open ask, where they are made; one of them on the others.
        some = list(offers.values()) if ask.status is Status.OPEN else [offers["U0HELP0"]]
        for state in CARD_STATES:
            for offer in some if state == "offered" else [None, *some]:
                yield (
                    "ask_card.json.j2",
                    {
                        "ask": ask,
                        "state": state,
                        "helpers": ask.helpers,
                        "offer": offer,
                        "offer_kinds": ["suggest", "later", "smaller"],
                        "invited": "suggest",
                    },
                )
        yield "asker_summary.json.j2", {"ask": ask, "offers": offers}
        for offer in offers.values():
            yield "offer_notice.json.j2", {"ask": ask, "offer": offer}
        for notice in (
            "helper_found",
            "helper_stepped_back",
            "all_declined",
            "thanks_prompt",
            "thanks_reminder",
            "thanks_sent",
            "check_in",
            "expired",
        ):
            for snoozed in (False, True):
                yield (
                    "asker_notice.json.j2",
                    {
                        "ask": ask,
                        "notice": notice,
                        "helper": "U0HELP1",
                        "snoozed": snoozed,
                        "scope": "15 minutes",
                    },
                )
        yield (
            "thanks_delivered.json.j2",
            {"ask_text": ask.text, "asker": ask.asker, "note": ask.scope[:THANKS_MAX_LENGTH]},
        )
    yield "unavailable.json.j2", {"what": hostile(100)}
    yield "ask_help.json.j2", {}
    yield "ask_forgotten.json.j2", {}
    for note in (hostile(THANKS_MAX_LENGTH), all_amp(THANKS_MAX_LENGTH)):
        week = [
            {
                "ask_id": f"A{n}",
                "ask": note[:ASK_MAX_LENGTH],
                "asker": f"U0ASK{n % 50}",
                "helper": f"U0HELP{n % 200}",
                "note": note,
                "shared": n % 5 != 0,
                "estimate_minutes": 240,
                "at": float(n),
            }
            for n in range(500)
        ]
        yield "digest.json.j2", digest_context(summarise(week, "2026-W47"), ENGLISH)
    yield "digest.json.j2", digest_context(summarise([], "2026-W47"), ENGLISH)


RENDERED_BY_TESTS = {
    "ask_modal.json.j2",
    "thanks_modal.json.j2",
    "home.json.j2",
    "erase_modal.json.j2",
    "offer_modal.json.j2",
} | {name for name, _ in message_contexts()}


def test_every_template_is_covered_here():
    templates = {
        p.name for p in files("slack_app.blocks").iterdir() if p.name.endswith(".j2") and not p.name.startswith("_")
    }
    assert templates == RENDERED_BY_TESTS


def in_every_language():
    """English with every context; the other languages with every template and state, for the text that is
    longest once escaped (all '&', where a longer wording could break a limit) in every status, and for the
    hostile text (mentions, links, Jinja) in an open ask. One test item per template and language (thousands
    of items cost more than the checks): a failure names the context it broke on."""
    cases = defaultdict(list)
    for name, context in message_contexts():
        ask = context.get("ask")
        for lang in EVERY_LANGUAGE:
            if lang is ENGLISH or ask is None or ask.text.startswith("&") or ask.status is Status.OPEN:
                cases[name, lang].append(context)
    return [pytest.param(name, lang, contexts, id=f"{name}-{lang.code}") for (name, lang), contexts in cases.items()]


def described(context: dict) -> str:
    ask, offer = context.get("ask"), context.get("offer")
    parts = [f"{ask.status.value} ask with {'all-&' if ask.text.startswith('&') else 'hostile'} text"] if ask else []
    parts += [f"{key}={context[key]}" for key in ("state", "notice", "snoozed") if key in context]
    if offer:
        parts.append(f"{offer.kind.value} offer {offer.state.value} from {offer.helper}")
    return ", ".join(parts) or "its context"


@pytest.mark.parametrize("name, lang, contexts", in_every_language())
def test_messages_are_valid_and_inert_with_hostile_input(name, lang, contexts):
    for context in contexts:
        where = f"{name} in {lang.code}, {described(context)}"
        if name == "digest.json.j2":  # its labels are worded before rendering: word them in this language
            context = digest_context(context["digest"], lang)
        message = render(name, lang=lang, **context)

        assert message["text"], where
        if "blocks" in message:
            assert _check_blocks(message["blocks"], MESSAGE_BLOCK_LIMIT, where) == []
            assert len(message["blocks"]) <= MESSAGE_BLOCK_LIMIT, where
        text = json.dumps(message, ensure_ascii=False)
        for ping in ("<!channel>", "<!here>", "<@U0VICTIM>", "<https://evil"):
            assert ping not in text, where
        typed = (
            context["ask"].text
            if "ask" in context
            else context.get("what", "") + "".join(n["note"] for n in context.get("notes", []))
        )
        if "{{ 7*7 }}" in json.dumps(typed, ensure_ascii=False):
            assert "{{ 7*7 }}" in text, where  # shown as typed: Jinja never evaluates user input


@pytest.mark.parametrize("lang", EVERY_LANGUAGE, ids=lambda lang: lang.code)
def test_the_modal_is_a_valid_view_with_a_hostile_prefill(lang):
    view = ask_modal(lang, hostile(3000), channel="C0GENERAL")

    assert _check_view(view, "modal") == []
    assert len(view["blocks"][1]["element"]["initial_value"]) <= ASK_MAX_LENGTH
    assert json.loads(view["private_metadata"]) == {"channel": "C0GENERAL"}


@pytest.mark.parametrize("lang", EVERY_LANGUAGE, ids=lambda lang: lang.code)
def test_the_modal_stays_valid_with_every_intro_note_and_hostile_group_names(lang):
    handles = [f"@{hostile(40)}{n}" for n in range(30)]
    view = ask_modal(
        lang,
        "Review PR 412",
        first_ask=True,
        teammates=[f"U0HELP{n}" for n in range(1, 15)],
        groups_cut={handle: 7 for handle in handles[:3]},
        groups_unlisted=handles[3:],
    )

    assert _check_view(view, "modal") == []
    assert len(view["blocks"][0]["elements"]) <= 10
    assert len(next(b for b in view["blocks"] if b.get("block_id") == "teammates")["element"]["initial_users"]) == 10
    assert "<!channel>" not in json.dumps(view, ensure_ascii=False)


@pytest.mark.parametrize("lang", EVERY_LANGUAGE, ids=lambda lang: lang.code)
def test_the_modals_are_valid_views_when_sending_again_and_saying_thanks(lang):
    for ask in asks():
        assert _check_view(ask_modal(lang, again=ask), "modal") == []
        assert _check_view(thanks_modal(lang, ask, "U0HELP1", "D0ASKER", "1.2"), "modal") == []
    assert _check_view(erase_modal(lang), "modal") == []
    for ask in asks()[:1] + asks()[5:6]:
        for kind in Kind:
            view = offer_modal(lang, ask, kind)
            assert _check_view(view, "modal") == [] and "<!channel>" not in json.dumps(view)
            assert ("{{ 7*7 }}" in ask.text) == ("{{ 7*7 }}" in json.dumps(view, ensure_ascii=False))


@pytest.mark.parametrize("lang", EVERY_LANGUAGE, ids=lambda lang: lang.code)
@pytest.mark.parametrize("admin", [False, True])
def test_the_home_tab_of_someone_with_many_asks_stays_a_valid_view(admin, lang):
    made = asks()
    offers = hostile_offers()
    mine = {
        "open": offers["U0HELP0"],
        "offered": offers["U0HELP0"],
        "mine": offers["U0HELP7"],
        "passed": offers["U0HELP9"],
    }
    view = render(
        "home.json.j2",
        lang=lang,
        user="U0ASKER",
        asks_by=[(ask, offers) for ask in made[:10]],
        asks_for=[
            (ask, state, mine.get(state), ["later", "smaller", "suggest"])
            for ask, state in zip(
                made,
                [
                    "open",
                    "offered",
                    "mine",
                    "done",
                    "covered",
                    "offered_late",
                    "passed",
                    "closed",
                    "offer_declined",
                    "open",
                ],
                strict=False,
            )
        ],
        availability={"choice": "", "until": "2099-12-31", "text": hostile(300)},
        weekly_limits=range(1, 11),
        more_by=290,
        more_for=290,
        thanks=[{"note": hostile(THANKS_MAX_LENGTH), "asker": "U0ASKER", "ask": hostile(150)}] * 5,
        balance={"asked": 300, "helped": 1},
        admin=admin,
        digest=DigestSettings(channel="C0KUDOS"),
        weekdays=[lang.weekday(day) for day in range(7)],
        time_zones=time_zone_choices("Asia/Kolkata"),
        languages=LANGUAGES,
        today=date(2099, 12, 29),
        insights=insights_section(busy_weeks(), "F0CHART", lang) if admin else None,
    )

    assert _check_view(view, "home") == []
    text = json.dumps(view, ensure_ascii=False)
    assert "<!channel>" not in text and "<@U0VICTIM>" not in text
    assert ("digest_settings" in text) is admin and ("F0CHART" in text) is admin
    assert "home_export_data" in text and "home_erase_open" in text  # everyone can take or erase their data


def busy_weeks():
    """Twelve weeks of figures, each as long as they get, and one too few to show."""
    names = weeks_up_to("2026-W47", 12)
    raw = [
        {
            "asks": "12345",
            "found_help": "12000",
            "yes_within:more": "12000",
            "done": "9999",
            "help_minutes": "99999999",
            "thanked": "7777",
            "people_both": "999",
            "people_only_asked": "4",
            "people_only_helped": "5",
        }
    ] * 12
    return overview(names, raw)


def test_escaping_is_exactly_slacks_three_characters():
    assert escape_mrkdwn('<!channel> & "x" *y*') == '&lt;!channel&gt; &amp; "x" *y*'


def test_long_escaped_text_is_cut_without_breaking_an_entity():
    text = json.loads(fmt("{}", "&" * 1000, limit=3000))
    assert len(text) <= 3000 and text.endswith("&amp;…")


def test_a_template_that_prints_a_raw_value_fails_loudly():
    from slack_app.text.render import _environment

    template = _environment(ENGLISH).from_string('{"text": "{{ value }}"}')
    with pytest.raises(TypeError, match="JSON-encoded"):
        template.render(value="<!channel>")
