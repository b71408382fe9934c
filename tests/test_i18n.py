"""Every person in their own language: the catalogs are complete, and each reader gets theirs end to end."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from conftest import BOT_TOKEN
from fake_slack import person
from redis.asyncio import Redis
from test_ask_flow import ASKER, HAL, HANA, send_ask
from test_home_and_digest import ADMIN, KUDOS, home_opened, published_home, view_text

from slack_app.features.digests import Digests, DigestSettings
from slack_app.settings import Settings
from slack_app.slack.slack_api import Clients
from slack_app.store.store import Store
from slack_app.text.i18n import DEFAULT_LANGUAGE, LANGUAGES, catalog_path, language, language_code, placeholders

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [code for code in LANGUAGES if code != DEFAULT_LANGUAGE]
EMOJI = re.compile(r":[a-z0-9_+-]+:")
HOW_TO_UPDATE = """
To bring the catalogs up to date (README: Languages), from the checkout's root:
    pybabel extract -F babel.cfg --no-location --sort-output --no-wrap -o slack_app/text/locales/messages.pot .
    pybabel update -i slack_app/text/locales/messages.pot -d slack_app/text/locales --no-wrap --ignore-obsolete
then write each empty msgstr (and check each '#, fuzzy' one, removing the flag) in
slack_app/text/locales/<language>/LC_MESSAGES/messages.po, keeping every {placeholder} and :emoji: as in English."""


def source_messages() -> dict:
    """Every message id in the code and the templates, as `pybabel extract -F babel.cfg` finds them."""
    with (ROOT / "babel.cfg").open() as cfg:
        method_map, options_map = parse_mapping_cfg(cfg)
    found = {}
    for filename, lineno, message, _, _ in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        found.setdefault(message, f"{filename}:{lineno}")
    return found


def catalog_problems(code: str, messages: dict) -> list[str]:
    with catalog_path(code).open("rb") as po:
        catalog = read_po(po, locale=code)
    problems = []
    for message_id, where in messages.items():
        key = message_id[0] if isinstance(message_id, tuple) else message_id
        entry = catalog.get(key)
        forms = (
            [] if entry is None else (list(entry.string) if isinstance(entry.string, (tuple, list)) else [entry.string])
        )
        english = message_id[-1] if isinstance(message_id, tuple) else message_id
        if entry is None or not all(forms):
            problems.append(f"untranslated ({where}): {message_id!r}")
        elif entry.fuzzy:
            problems.append(f"fuzzy, needs checking ({where}): {message_id!r}")
        elif isinstance(message_id, tuple) and len(forms) != catalog.num_plurals:
            problems.append(f"{len(forms)} plural forms where {code} has {catalog.num_plurals}: {message_id!r}")
        else:
            for form in forms:
                if placeholders(form) != placeholders(english) or set(EMOJI.findall(form)) != set(
                    EMOJI.findall(english)
                ):
                    problems.append(f"placeholders or emoji differ from English: {message_id!r} → {form!r}")
    return problems


def test_every_message_is_translated_in_every_catalog():
    messages = source_messages()
    assert len(messages) > 100  # the extraction found the templates and the code, not nothing

    report = {code: catalog_problems(code, messages) for code in TRANSLATED}

    assert not any(report.values()), "\n".join(
        [f"{code} ({LANGUAGES[code]}):\n  " + "\n  ".join(problems) for code, problems in report.items() if problems]
        + [HOW_TO_UPDATE]
    )


@pytest.mark.parametrize(
    "slack_locale, code",
    [
        ("en-US", "en"),
        ("en-GB", "en"),
        ("es-ES", "es"),
        ("es-LA", "es"),
        ("fr-FR", "fr"),
        ("fr-CA", "fr"),
        ("de-DE", "de"),
        ("pt-BR", "pt_BR"),
        ("pt-PT", "pt_BR"),
        ("ja-JP", "ja"),
        ("ko-KR", "en"),
        ("zh-CN", "en"),
        ("", "en"),
        (None, "en"),
        ("nonsense", "en"),
    ],
)
def test_slack_locales_become_one_of_the_languages_and_anything_else_english(slack_locale, code):
    assert language_code(slack_locale) == code


@pytest.mark.parametrize(
    "code, one, many",
    [
        ("en", "1 ask", "2,500 asks"),
        ("es", "1 petición", "2.500 peticiones"),
        ("de", "1 Anfrage", "2.500 Anfragen"),
        ("fr", "1 demande", "2\u202f500 demandes"),
        ("pt_BR", "1 pedido", "2.500 pedidos"),
        ("ja", "1 件", "2,500 件"),
    ],
)
def test_counts_follow_each_languages_plural_rules_and_number_format(code, one, many):
    lang = language(code)
    assert lang.ngettext("{count} ask", "{count} asks", 1) == one
    assert lang.ngettext("{count} ask", "{count} asks", 2500) == many


# --- end to end: each reader in their own language -----------------------------------------------


@pytest.fixture
def speakers(fake_slack):
    """The asker reads English; Hal reads Spanish and Hana Japanese, as their Slack says."""
    for user, locale in {ASKER: "en-US", HAL: "es-LA", HANA: "ja-JP"}.items():
        fake_slack.users[user] = {**fake_slack.users[user], "locale": locale}  # a copy: the defaults are shared


def test_an_english_ask_reaches_spanish_and_japanese_helpers_in_their_languages(speakers, slack, fake_slack):
    cards = send_ask(slack, fake_slack, teammates=(HAL, HANA), text="Review the retry logic in PR 412 before Friday")

    spanish, japanese = cards[HAL].all_text, cards[HANA].all_text
    assert "<@U0ASKER> te pide ayuda" in spanish and "30 minutos" in spanish and "Me encargo yo" in spanish
    assert "<@U0ASKER> さんが手伝いを頼んでいます" in japanese and "30 分" in japanese and "引き受けます" in japanese
    for card in (spanish, japanese):  # the asker's own words, as typed
        assert "Review the retry logic in PR 412 before Friday" in card and "In: error handling in retry.py" in card
    summary = fake_slack.dms(ASKER)[0].all_text
    assert "Your ask went to <@U0HELP1> and <@U0HELP2>" in summary and "30 minutes" in summary
    assert all(call.args.get("include_locale") in (True, "true", "1") for call in fake_slack.calls_to("users.info"))

    slack.react(HANA, cards[HANA], "white_check_mark")
    fake_slack.wait_for(lambda: cards[HAL].history, what="Hal's card to say it's covered")
    fake_slack.settle(quiet=0.1)

    assert "A cargo de <@U0HELP2>: no necesitas hacer nada." in fake_slack.dms(HAL)[0].all_text
    assert "引き受けてくれてありがとうございます。" in fake_slack.dms(HANA)[0].all_text
    fake_slack.wait_for(
        lambda: any("<@U0HELP2> is on your ask" in m.all_text for m in fake_slack.dms(ASKER)),
        what="the asker's notice, in English",
    )


def modal_titled(fake_slack, title: str) -> dict | None:
    """The modal as it was opened or last updated, if its title is `title`."""
    for call in fake_slack.calls_to("views.open") + fake_slack.calls_to("views.update"):
        view = call.args["view"] if isinstance(call.args["view"], dict) else json.loads(call.args["view"])
        if view["title"]["text"] == title:
            return view
    return None


def test_the_modal_and_its_errors_are_in_the_language_of_whoever_opens_it(speakers, slack, fake_slack):
    slack.slash_ask(HAL, "Revisar el PR 412")
    # The workspace's first request: its people directory is still being filled, so the form opens at once
    # in English and is brought into Hal's language as soon as Slack has said which it is.
    view = fake_slack.wait_for(lambda: modal_titled(fake_slack, "Pedir ayuda"), what="the modal in Spanish")

    assert view["submit"]["text"] == "Enviar petición"
    estimates = [option["text"]["text"] for option in view["blocks"][3]["element"]["options"]]
    assert estimates == ["5 minutos", "15 minutos", "30 minutos", "1 hora", "2 horas", "Media jornada"]

    reply = slack.submit_ask(HAL, teammates=[HAL, HANA])

    assert reply.json()["errors"] == {"teammates": "Estás en la lista: elige a otras personas del equipo."}


def test_each_home_tab_is_in_its_readers_language(speakers, slack, fake_slack):
    send_ask(slack, fake_slack, teammates=(HAL, HANA))
    home_opened(slack, HANA)
    home_opened(slack, ASKER)

    japanese, english = view_text(published_home(fake_slack, HANA)), view_text(published_home(fake_slack, ASKER))
    assert "あなたへのお願い" in japanese and "<@U0ASKER> さんからのお願い：*Review the retry logic" in japanese
    assert "Your asks" in english and "Waiting for answers" in english


def test_a_refusal_is_in_the_language_of_whoever_pressed(speakers, slack, fake_slack):
    send_ask(slack, fake_slack, teammates=(HAL, HANA))
    summary = fake_slack.dms(ASKER)[0]

    slack.click(HAL, summary, "ask_cancel")  # someone else's ask: only its asker may cancel it
    reply = fake_slack.wait_for(lambda: fake_slack.responses, what="the refusal")[0]

    assert (
        reply["text"] == "Solo quien pidió ayuda puede cancelar la petición." and reply["response_type"] == "ephemeral"
    )


def test_an_admin_picks_the_workspace_language_and_the_digest_is_written_in_it(
    slack, fake_slack, redis_sync, redis_url, run
):
    fake_slack.users[ADMIN] = person(ADMIN, "Ada Admin", is_admin=True, locale="ja-JP")
    home_opened(slack, ADMIN)
    options = [
        element
        for block in published_home(fake_slack, ADMIN)["blocks"]
        for element in block.get("elements", [])
        if element.get("action_id") == "digest_language"
    ][0]["options"]
    assert [option["text"]["text"] for option in options] == list(LANGUAGES.values())

    slack.send_interaction(
        {
            "type": "block_actions",
            "team": {"id": "T0TEAM"},
            "user": {"id": ADMIN, "team_id": "T0TEAM"},
            "api_app_id": "A0SLACKASK",
            "container": {"type": "view", "view_id": "V1"},
            "trigger_id": "1.2.3",
            "view": {"id": "V1", "type": "home"},
            "actions": [
                {
                    "action_id": "digest_language",
                    "block_id": "digest_settings",
                    "action_ts": "1.0",
                    "type": "static_select",
                    "selected_option": {"value": "de"},
                }
            ],
        }
    )

    assert redis_sync.hget("{T0TEAM}:settings", "digest_language") == "de"
    latest = published_home(fake_slack, ADMIN, count=2)
    assert "ワークスペースの設定" in view_text(latest)  # the admin's own Home stays in their language
    assert '"initial_option": {"text": {"type": "plain_text", "text": "Deutsch"}' in json.dumps(
        latest, ensure_ascii=False
    )

    async def post_this_week():
        digests = Digests(
            Store(Redis.from_url(redis_url, decode_responses=True)),
            Clients(Settings(bot_token=BOT_TOKEN, signing_secret="s", slack_api_url=fake_slack.api_url)),
            DigestSettings(channel="C0KUDOS"),
        )
        await digests.store.record_thanks("T0TEAM", "2026-W47", {**KUDOS, "estimate_minutes": 90})
        return await digests.post("T0TEAM", "2026-W47")

    assert run(post_this_week())
    digest = [call for call in fake_slack.calls_to("chat.postMessage") if call.args["channel"] == "C0KUDOS"][0].args
    assert (
        digest["text"]
        == "Dankeschöns aus Woche 47/2026: Hilfe bei 1 Anfrage von 1 Person, etwa 1 Std. 30 Min. geschenkte Zeit."
    )
    assert "The release went out on time" in json.dumps(digest["blocks"])  # the note as its asker wrote it
