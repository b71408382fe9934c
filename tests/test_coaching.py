"""The coaching rules, table-driven: each rule firing where it should, and staying quiet where it shouldn't."""

from __future__ import annotations

import pytest
from test_ask_flow import ASKER, HAL

from slack_app.domain.asks import Draft, estimate_in_sentence
from slack_app.domain.coaching import (
    APOLOGY_SUGGESTION,
    DEBT_SUGGESTION,
    THANKS_DEBT_SUGGESTION,
    THANKS_SUGGESTION,
    TOO_LONG,
    TOO_SHORT,
    VAGUE_ASK,
    coach_ask,
    coach_thanks,
    rules,
)
from slack_app.text.i18n import ENGLISH, LANGUAGES, language

GOOD_SCOPE = "In: error handling in retry.py. Out: naming and tests."


def draft(text: str, scope: str = GOOD_SCOPE, estimate: int = 30) -> Draft:
    return Draft(
        text=text,
        scope=scope,
        estimate_minutes=estimate,
        decline_line="no_reason",
        teammates=["U0HELP1"],
        needed_by=None,
        helpers_needed=1,
    )


@pytest.mark.parametrize(
    "text, scope, estimate, field, wording",
    [
        # apology and self-deprecation, on the field that says it
        ("Sorry to bother, can you review PR 412", GOOD_SCOPE, 30, "ask", "“sorry to bother”"),
        ("Review PR 412, sorry!", GOOD_SCOPE, 30, "ask", "“sorry”"),
        ("I hate to ask but could you review PR 412", GOOD_SCOPE, 30, "ask", "“i hate to ask”"),
        ("Review PR 412 if it’s not too much trouble", GOOD_SCOPE, 30, "ask", "“if it’s not too much trouble”"),
        ("I know you're busy: review PR 412's retry logic", GOOD_SCOPE, 30, "ask", "“i know you're busy”"),
        ("Quick favour: rotate the staging TLS cert", GOOD_SCOPE, 30, "ask", "“quick favour”"),
        ("Stupid question about the billing export job", GOOD_SCOPE, 30, "ask", "“stupid question”"),
        ("No pressure but the billing export fails", GOOD_SCOPE, 30, "ask", "“no pressure but”"),
        ("Review the retry logic in PR 412", "Sorry, it's long. In: retry.py. Out: tests.", 30, "scope", "“sorry”"),
        # vagueness: nothing concrete, or a scope that only says the ask again
        ("Can you look at this for me?", GOOD_SCOPE, 30, "ask", "what done looks like"),
        ("Could someone help with stuff", GOOD_SCOPE, 30, "ask", "what done looks like"),
        ("Any thoughts? Ideas? Anyone?", GOOD_SCOPE, 30, "ask", "what done looks like"),
        ("Review the retry logic in PR 412", "The retry logic in PR 412.", 30, "scope", "beyond the ask itself"),
        ("Review the retry logic in PR 412", "this and that", 30, "scope", "beyond the ask itself"),
        (
            "Review the retry logic in PR 412",
            "https://acme.slack.com/archives/C1/p1\n",
            30,
            "scope",
            "what done looks like",
        ),
        # estimates that don't fit the words
        ("Quick look at the retry logic in PR 412", GOOD_SCOPE, 240, "estimate", "“quick look” but picked half a day"),
        ("Sanity check the billing export totals", GOOD_SCOPE, 120, "estimate", "2 hours"),
        (
            "Deep dive into the billing export failures",
            GOOD_SCOPE,
            5,
            "estimate",
            "“deep dive” sounds bigger than 5 minutes",
        ),
        ("Rewrite the retry logic in PR 412", GOOD_SCOPE, 15, "estimate", "15 minutes"),
    ],
)
def test_each_rule_fires_with_one_suggestion_on_its_field(text, scope, estimate, field, wording):
    suggestion = coach_ask(draft(text, scope, estimate), ENGLISH)

    assert list(suggestion) == [field]
    assert wording.lower() in suggestion[field].lower()


@pytest.mark.parametrize(
    "text, scope, estimate",
    [
        ("Review the retry logic in PR 412", GOOD_SCOPE, 30),
        # "sorry" someone else wrote, quoted or in code, is not an apology
        ('Find why the export says "Sorry, something went wrong"', GOOD_SCOPE, 30),
        ("Find why the export says “Sorry, something went wrong”", GOOD_SCOPE, 30),
        ("Find why `sorry_handler()` swallows the billing errors", GOOD_SCOPE, 30),
        (
            "Find why the billing export fails",
            "The log says:\n> Sorry, we could not export\nIn: export.py. Out: UI.",
            30,
        ),
        (
            "Find why the billing export fails",
            "Error:\n```\nsorry: no pressure but quota exceeded\n```\nIn: export.py.",
            30,
        ),
        # whole words only
        ("Review the sorrynotsorry emoji pack for the offsite", GOOD_SCOPE, 30),
        ("Review the quick-lookup table in the billing cache", GOOD_SCOPE, 240),
        # concrete asks that happen to use filler words
        ("Can you look at the flaky login test?", GOOD_SCOPE, 30),
        ("Help me with the deploy of billing to staging", GOOD_SCOPE, 60),
        # fitting estimates
        ("Quick look at the retry logic in PR 412", GOOD_SCOPE, 15),
        ("Deep dive into the billing export failures", GOOD_SCOPE, 240),
        ("Review the retry logic in PR 412", "Done when approved. Out: naming.", 240),
        ("Review the retry logic in PR 412", "https://acme.slack.com/archives/C1/p1\nDone when approved.", 30),
        ("Why does the export say `sorry`?", "See https://acme.slack.com/archives/C1/p1?sorry=1 Done: a cause.", 30),
    ],
)
def test_nothing_to_say_about_a_good_ask(text, scope, estimate):
    assert coach_ask(draft(text, scope, estimate), ENGLISH) == {}


def test_an_apology_is_pointed_out_before_anything_else():
    suggestion = coach_ask(draft("Sorry, can you look at this", "this", 240), ENGLISH)

    assert list(suggestion) == ["ask"] and "apologise" in suggestion["ask"]


@pytest.mark.parametrize(
    "note, coached",
    [
        ("Sorry it took so long — the release went out on time.", True),
        ("Thanks, and sorry for the trouble!", True),
        ("Apologies for the late thanks: the build is green again.", True),
        ("The release went out on time and nobody got paged.", False),
        ('Fixed the "sorry, try again" banner for every customer.', False),
        ("Thanks!", False),  # too short is the thanks minimum's job, not coaching's
    ],
)
def test_thanks_that_apologise_are_asked_what_changed(note, coached):
    suggestion = coach_thanks(note, ENGLISH)

    assert (suggestion is not None) == coached
    if coached:
        assert "what their help changed" in suggestion


@pytest.mark.parametrize("code", list(LANGUAGES))
def test_the_phrase_lists_are_data_and_all_lower_case_in_every_language(code):
    r = rules(code)
    lists = (r.apologies, r.debts, r.small, r.large, r.thanks_apologies, r.thanks_debts)
    for phrase in (p for phrases in lists for p in (*phrases.anywhere, *phrases.openers, *phrases.exceptions)):
        assert phrase == phrase.lower().strip() and phrase
    assert "sorry" in r.apologies.openers and "quick look" in r.small.anywhere  # English is always looked for too


@pytest.mark.parametrize(
    "code, text, scope, estimate, field, wording",
    [
        ("es", "Perdón por molestar, ¿puedes revisar el PR 412?", GOOD_SCOPE, 30, "ask", "No hace falta pedir perdón"),
        ("es", "¿Me puedes ayudar con esto?", GOOD_SCOPE, 30, "ask", "cuándo estará terminada"),
        ("es", "Vistazo rápido a la lógica de reintentos del PR 412", GOOD_SCOPE, 240, "estimate", "media jornada"),
        ("fr", "Désolé de vous déranger : relire la PR 412", GOOD_SCOPE, 30, "ask", "« Désolé de vous déranger »"),
        ("de", "Kurzer Blick auf die Retry-Logik in PR 412", GOOD_SCOPE, 240, "estimate", "4 Stunden (halber Tag)"),
        ("de", "Kannst du mir bitte mal helfen?", GOOD_SCOPE, 30, "ask", "woran man erkennt"),
        ("pt_BR", "Desculpa incomodar, pode revisar o PR 412?", GOOD_SCOPE, 30, "ask", "“Desculpa incomodar”"),
        (
            "ja",
            "お忙しいところすみませんが、PR 412 のリトライ処理を見てください",
            GOOD_SCOPE,
            30,
            "ask",
            "「お忙しいところすみません」",
        ),
        ("ja", "Sorry, review PR 412", GOOD_SCOPE, 30, "ask", "「Sorry」"),  # English read too, answered in Japanese
    ],
)
def test_each_language_is_read_with_its_own_phrases_and_answered_in_it(code, text, scope, estimate, field, wording):
    suggestion = coach_ask(draft(text, scope, estimate), language(code))

    assert list(suggestion) == [field] and wording in suggestion[field]


@pytest.mark.parametrize(
    "code, text",
    [
        ("de", "Kein Stress, aber schau bitte auf die Retry-Logik in PR 412"),  # a phrase with a comma in it
        ("pt_BR", "Revisar o PR 412, mas só a lógica de retry"),  # "mas" alone is no apology
        ("es", "Revisar la lógica de reintentos del PR 412"),
        ("ja", "PR 412 のリトライ処理をレビューしてください"),
    ],
)
def test_plain_asks_in_each_language_need_no_coaching(code, text):
    suggestion = coach_ask(draft(text), language(code))
    assert suggestion == ({"ask": suggestion["ask"]} if code == "de" else {})
    if code == "de":
        assert "„Kein Stress, aber“" in suggestion["ask"]  # quoted back as they typed it


def test_thanks_are_coached_in_the_askers_language():
    assert "Cuenta qué cambió" in coach_thanks("Perdón por tardar: la versión salió a tiempo.", language("es"))


# --- asks as people type them, in every language ------------------------------------------------
#
# Each row is a sentence someone would type in the ask line, read as the modal reads it (coach_ask, with the
# asker's language), and the one suggestion they should see: None, or the rule and the words it quotes back
# exactly as they typed them. The negatives include the task itself being about an apology, a rewrite or a
# second reviewer; the positives include formal and spoken apologies and promises of something in return.

SCOPES = {
    "en": "In: error handling in retry.py. Out: naming and tests.",
    "es": "Incluye: el manejo de errores en retry.py. Fuera: nombres y tests.",
    "fr": "Dedans : la gestion d'erreurs de retry.py. Hors périmètre : le nommage, les tests.",
    "de": "Drin: Fehlerbehandlung in retry.py. Nicht drin: Benennung, Tests.",
    "pt_BR": "Dentro: tratamento de erros no retry.py. Fora: nomes e testes.",
    "ja": "対象：retry.py のエラー処理。対象外：命名とテスト。",
}
SUGGESTIONS = {"apology": APOLOGY_SUGGESTION, "debt": DEBT_SUGGESTION, "too_long": TOO_LONG, "too_short": TOO_SHORT}

ASKS = [
    # English
    ("en", "Sorry to bother, can you review the retry logic in PR 412?", 30, "apology", "Sorry to bother"),
    ("en", "Review PR 412's retry logic before the release, sorry!", 30, "apology", "sorry"),
    ("en", "Hi, sorry — could you check why the billing export fails on Mondays?", 30, "apology", "sorry"),
    ("en", "I know you're busy, but could you pair on the flaky login test?", 30, "apology", "I know you're busy"),
    ("en", "Stupid question: where do the staging TLS certs get rotated?", 30, "apology", "Stupid question"),
    ("en", "Apologies for the short notice: review the 4.2 release notes", 30, "apology", "Apologies for"),
    ("en", "Review the retry logic in PR 412, I owe you one!", 30, "debt", "I owe you one"),
    ("en", "Can you look at this for me?", 30, "vague", None),
    ("en", "Quick look at the retry logic in PR 412", 240, "too_long", "Quick look"),
    ("en", "Deep dive into why the billing export drops rows", 15, "too_short", "Deep dive"),
    ("en", "Draft an apology for the customer about Tuesday's outage", 30, None, None),
    ("en", "Review my rewrite of the README intro", 15, None, None),
    ("en", "A second pair of eyes on the migration plan before Friday", 120, None, None),
    ("en", "Proofread the sorry-we're-down page before we publish it", 30, None, None),
    ("en", 'Find why the export says "Sorry, something went wrong"', 30, None, None),
    ("en", "Help me with the deploy of billing to staging", 60, None, None),
    ("en", "Can you look at the flaky login test?", 30, None, None),
    ("en", "CI takes 45 minutes on every push, find out why", 240, None, None),  # "5 minutes" is not in "45"
    # Español
    ("es", "Perdona que te moleste, ¿puedes revisar el PR 412?", 30, "apology", "Perdona que te moleste"),
    ("es", "Disculpe, ¿podría revisar la lógica de reintentos del PR 412?", 30, "apology", "Disculpe"),
    ("es", "Siento la molestia, ¿me ayudas con el despliegue de facturación?", 30, "apology", "Siento la molestia"),
    ("es", "Lo siento, ¿puedes mirar por qué falla la exportación de facturas?", 30, "apology", "Lo siento"),
    ("es", "Pregunta tonta: ¿dónde se renuevan los certificados de staging?", 30, "apology", "Pregunta tonta"),
    ("es", "Perdón, ¿revisas el PR 412 antes del viernes?", 30, "apology", "Perdón"),
    ("es", "Revisa el PR 412 cuando puedas, ¡te debo una!", 30, "debt", "te debo una"),
    ("es", "¿Me puedes ayudar con esto?", 30, "vague", None),
    ("es", "Vistazo rápido a la lógica de reintentos del PR 412", 240, "too_long", "Vistazo rápido"),
    ("es", "Revisar a fondo el módulo de facturación", 15, "too_short", "a fondo"),
    ("es", "Redactar la disculpa para el cliente por la caída del martes", 30, None, None),
    ("es", "Revisar mi reescritura de la introducción del README", 15, None, None),
    ("es", "Un segundo par de ojos en el plan de migración", 120, None, None),
    ("es", "Revisar el texto de la página de disculpas por la caída", 30, None, None),
    ("es", "Revisar la lógica de reintentos del PR 412", 30, None, None),
    ("es", "¿Puedes mirar el test de login que falla a veces?", 30, None, None),
    ("es", 'Averigua por qué la exportación dice "Lo siento, algo salió mal"', 30, None, None),
    # Français
    ("fr", "Désolé de vous déranger : pouvez-vous relire la PR 412 ?", 30, "apology", "Désolé de vous déranger"),
    ("fr", "Je m'excuse de te déranger, tu peux relire la PR 412 ?", 30, "apology", "Je m'excuse de te déranger"),
    ("fr", "Navrée, pouvez-vous regarder l'export de facturation ?", 30, "apology", "Navrée"),
    ("fr", "Pardon, tu aurais un moment pour la config TLS de staging ?", 30, "apology", "Pardon"),
    ("fr", "Question bête : où sont renouvelés les certificats de staging ?", 30, "apology", "Question bête"),
    ("fr", "Excusez-moi, pouvez-vous valider le plan de migration ?", 30, "apology", "Excusez-moi"),
    ("fr", "Relis la PR 412 quand tu peux, je t'en dois une !", 30, "debt", "je t'en dois une"),
    ("fr", "Tu peux regarder ça pour moi ?", 30, "vague", None),
    ("fr", "Petite question sur la logique de retry de la PR 412", 240, "too_long", "Petite question"),
    ("fr", "Refonte de la page de facturation", 15, "too_short", "Refonte"),
    ("fr", "Rédiger les excuses au client après la panne de mardi", 30, None, None),
    ("fr", "Relire ma réécriture de l'intro du README", 15, None, None),
    ("fr", "Une seconde paire d'yeux sur le plan de migration", 120, None, None),
    ("fr", "Relire le texte de la page « désolé, service indisponible »", 30, None, None),
    ("fr", "Corriger le message désolé qui s'affiche au paiement", 30, None, None),
    ("fr", "Relire la logique de retry de la PR 412", 30, None, None),
    ("fr", "Pouvez-vous regarder le test de connexion instable ?", 30, None, None),
    # Deutsch
    ("de", "Entschuldige die Störung, kannst du PR 412 reviewen?", 30, "apology", "Entschuldige die Störung"),
    (
        "de",
        "Entschuldigen Sie bitte, können Sie die Retry-Logik in PR 412 prüfen?",
        30,
        "apology",
        "Entschuldigen Sie bitte",
    ),
    ("de", "Sorry, kannst du dir den Billing-Export anschauen?", 30, "apology", "Sorry"),
    ("de", "Tut mir leid, dass ich störe: schau bitte auf die Retry-Logik in PR 412", 30, "apology", "Tut mir leid"),
    ("de", "Dumme Frage: wo werden die TLS-Zertifikate für Staging erneuert?", 30, "apology", "Dumme Frage"),
    ("de", "Kein Stress, aber schau bitte auf die Retry-Logik in PR 412", 30, "apology", "Kein Stress, aber"),
    ("de", "Kannst du PR 412 reviewen? Ich schulde dir was!", 30, "debt", "Ich schulde dir was"),
    ("de", "Kannst du mir bitte mal helfen?", 30, "vague", None),
    ("de", "Kurzer Blick auf die Retry-Logik in PR 412", 240, "too_long", "Kurzer Blick"),
    ("de", "Die Billing-Seite neu schreiben", 15, "too_short", "neu schreiben"),
    ("de", "Die Entschuldigung an den Kunden gegenlesen", 30, None, None),
    ("de", "Meine Überarbeitung der README-Einleitung gegenlesen", 15, None, None),
    ("de", "Den Text der Sorry-Seite für den Ausfall prüfen", 30, None, None),
    ("de", "Herausfinden, warum der Export „Sorry, etwas ist schiefgelaufen“ meldet", 30, None, None),
    ("de", "Einen zweiten Blick auf den Migrationsplan werfen", 120, None, None),
    ("de", "Die Retry-Logik in PR 412 reviewen", 30, None, None),
    ("de", "Kannst du dir den wackeligen Login-Test anschauen?", 30, None, None),
    # Português (Brasil)
    ("pt_BR", "Desculpa incomodar, pode revisar o PR 412?", 30, "apology", "Desculpa incomodar"),
    ("pt_BR", "Sinto muito, você pode revisar a lógica de retry do PR 412?", 30, "apology", "Sinto muito"),
    ("pt_BR", "Foi mal, consegue olhar o export de faturamento?", 30, "apology", "Foi mal"),
    ("pt_BR", "Desculpe, pode validar o plano de migração?", 30, "apology", "Desculpe"),
    ("pt_BR", "Pergunta boba: onde renovam os certificados TLS de staging?", 30, "apology", "Pergunta boba"),
    ("pt_BR", "Sem pressão, mas dá pra revisar o PR 412 hoje?", 30, "apology", "Sem pressão, mas"),
    ("pt_BR", "Revisa o PR 412 pra mim? Fico te devendo!", 30, "debt", "Fico te devendo"),
    ("pt_BR", "Pode me ajudar com isso?", 30, "vague", None),
    ("pt_BR", "Olhada rápida na lógica de retry do PR 412", 240, "too_long", "Olhada rápida"),
    ("pt_BR", "Reescrever a página de faturamento", 15, "too_short", "Reescrever"),
    ("pt_BR", "Descobrir por que o deploy de ontem foi mal", 30, None, None),
    ("pt_BR", "Revisar minha reescrita da introdução do README", 15, None, None),
    ("pt_BR", "Um segundo par de olhos no plano de migração", 120, None, None),
    ("pt_BR", "Escrever o pedido de desculpas para o cliente sobre a queda", 30, None, None),
    ("pt_BR", "Revisar o PR 412, mas só a lógica de retry", 30, None, None),
    ("pt_BR", "Pode olhar o teste de login instável?", 30, None, None),
    ("pt_BR", 'Descobrir por que o export mostra "Desculpe, algo deu errado"', 30, None, None),
    # 日本語
    (
        "ja",
        "お忙しいところすみませんが、PR 412 のリトライ処理を見てもらえますか",
        30,
        "apology",
        "お忙しいところすみません",
    ),
    ("ja", "申し訳ございませんが、ステージングの証明書更新を手伝ってください", 30, "apology", "申し訳ございません"),
    ("ja", "すいません、請求エクスポートが失敗する原因を調べてほしいです", 30, "apology", "すいません"),
    ("ja", "ごめんなさい、明日のリリース手順を確認してもらえますか", 30, "apology", "ごめんなさい"),
    ("ja", "PR 412 のレビューお願いします、この借りは必ず返します", 30, "debt", "この借りは"),
    ("ja", "これ見てもらえますか？", 30, "vague", None),
    ("ja", "ちょっと手伝ってほしいです", 30, "vague", None),
    ("ja", "この件について相談させてください", 30, "vague", None),
    ("ja", "PR 412 のリトライ処理をちょっとだけ見てください", 240, "too_long", "ちょっとだけ"),
    ("ja", "請求ページを作り直したいので手伝ってください", 15, "too_short", "作り直し"),
    ("ja", "恐れ入りますが、PR 412 のリトライ処理をレビューしてください", 30, None, None),
    ("ja", "恐縮ですが、来週の移行計画に目を通していただけますか", 30, None, None),
    ("ja", "CIが毎回45分かかる原因を調べてほしいです", 240, None, None),
    ("ja", "お客様へのお詫びメールの文面を確認してください", 30, None, None),
    ("ja", "PR 412 のリトライ処理をレビューしてください", 30, None, None),
    ("ja", "ログインのテストがたまに落ちる原因を見てください", 30, None, None),
    ("ja", "「すみません、エラーが発生しました」と出る原因を調べてください", 30, None, None),
]


def expected_suggestion(code: str, minutes: int, rule: str | None, phrase: str | None) -> dict[str, str]:
    lang = language(code)
    if rule is None:
        return {}
    if rule == "vague":
        return {"ask": lang.gettext(VAGUE_ASK)}
    estimate = estimate_in_sentence(minutes, lang)
    return {
        "estimate" if rule.startswith("too_") else "ask": lang.gettext(
            SUGGESTIONS[rule], phrase=phrase, estimate=estimate
        )
    }


@pytest.mark.parametrize("code, text, minutes, rule, phrase", ASKS)
def test_asks_as_people_type_them_get_the_right_suggestion_or_none(code, text, minutes, rule, phrase):
    suggestion = coach_ask(draft(text, SCOPES[code], minutes), language(code))

    assert suggestion == expected_suggestion(code, minutes, rule, phrase)
    if phrase:
        assert phrase in text  # quoted back as they typed it, casing and all


def test_the_table_covers_every_language_with_both_kinds_of_rows():
    for code in LANGUAGES:
        rows = [row for row in ASKS if row[0] == code]
        assert len(rows) >= 15, code
        assert {row[3] for row in rows} >= {"apology", "debt", "vague", "too_long", "too_short", None}, code


@pytest.mark.parametrize(
    "code, note, rule",
    [
        ("en", "Thanks, I owe you one — the release went out on time.", "debt"),
        ("en", "Sorry it took me so long: the build is green again.", "apology"),
        ("en", "Your apology draft saved the customer call.", None),
        ("fr", "Merci, je t'en dois une : la mise en prod est partie à l'heure.", "debt"),
        ("fr", "Navrée pour le délai : la migration est passée sans coupure.", "apology"),
        ("es", "¡Te debo una! La versión salió a tiempo.", "debt"),
        ("de", "Ich schulde dir was — das Release ging pünktlich raus.", "debt"),
        ("pt_BR", "Sinto muito pela demora: o release saiu no prazo.", "apology"),
        ("ja", "申し訳ございません、お礼が遅くなりました。リリースが予定どおりに出せました。", "apology"),
        ("ja", "恩に着ます。リリースが予定どおりに出せました。", "debt"),
    ],
)
def test_thanks_that_apologise_or_speak_of_a_debt_get_the_message_for_it(code, note, rule):
    lang = language(code)
    expected = {"debt": THANKS_DEBT_SUGGESTION, "apology": THANKS_SUGGESTION}.get(rule)
    assert coach_thanks(note, lang) == (lang.gettext(expected) if expected else None)


@pytest.mark.parametrize(
    "locale, text, field, wording",
    [
        ("es-ES", "Disculpe, ¿podría revisar la lógica de reintentos del PR 412?", "ask", "«Disculpe»"),
        ("ja-JP", "すいません、請求エクスポートが失敗する原因を調べてほしいです", "ask", "「すいません」"),
        ("de-DE", "Die Entschuldigung an den Kunden gegenlesen", None, None),
        ("ja-JP", "恐れ入りますが、PR 412 のリトライ処理をレビューしてください", None, None),
    ],
)
def test_the_modal_coaches_in_the_askers_language_or_sends(slack, fake_slack, redis_sync, locale, text, field, wording):
    fake_slack.users[ASKER] = {**fake_slack.users[ASKER], "locale": locale}  # a copy: the defaults are shared

    answer = slack.submit_ask(ASKER, text=text)

    if field:
        assert answer.json()["response_action"] == "errors" and wording in answer.json()["errors"][field]
        assert not redis_sync.keys("{T0TEAM:ask:*")
    else:
        assert answer.status == 200 and answer.body == ""
        fake_slack.wait_for(lambda: fake_slack.dms(HAL), what="the card")
