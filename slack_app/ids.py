"""Every name Slack echoes back to the app, defined once.

Slack sends these strings back exactly as the app (or manifest.yml) gave them: an action_id and block_id
with a button press, a view's callback_id and its state keyed by block_id on submit, a shortcut's
callback_id, a subscribed event's type. The listeners register by these members, the Block Kit
templates print them (`{{ json(ActionId.ASK_ACCEPT) }}`: each is a Jinja global), and the domain names
a modal's fields by them when it words an error, so renaming one is one edit here and a wire change.
The values are the wire format: changing one breaks messages already sent and manifest.yml.

Imports nothing else of the app: every layer may use it.
"""

from __future__ import annotations

from enum import StrEnum


class ActionId(StrEnum):
    """Interactive elements: a block_actions payload carries one of these as `action_id`."""

    # A teammate's card (and their Home tab): the twins of the ✅ and ❌ reactions.
    ASK_ACCEPT = "ask_accept"
    ASK_DECLINE = "ask_decline"
    # The answers between yes and no on a card: OFFER_<kind>, see `for_offer`.
    OFFER_LATER = "offer_later"
    OFFER_SMALLER = "offer_smaller"
    OFFER_SUGGEST = "offer_suggest"
    # The asker's and the helper's controls.
    ASK_DONE = "ask_done"
    ASK_CANCEL = "ask_cancel"
    ASK_AGAIN = "ask_again"
    CHECK_IN_SNOOZE = "check_in_snooze"
    THANKS_OPEN = "thanks_open"
    # The asker's answer to an offer.
    OFFER_ACCEPT = "offer_accept"
    OFFER_DECLINE = "offer_decline"
    # The Home tab.
    HOME_NEW_ASK = "home_new_ask"
    HOME_EXPORT_DATA = "home_export_data"
    HOME_ERASE_OPEN = "home_erase_open"
    AVAILABILITY_MODE = "availability_mode"
    AVAILABILITY_BREAK = "availability_break"
    DIGEST_CHANNEL = "digest_channel"
    DIGEST_DAY = "digest_day"
    DIGEST_TIME = "digest_time"
    DIGEST_TZ = "digest_tz"
    DIGEST_LANGUAGE = "digest_language"
    # The one element of every modal input block: its state is `values[<BlockId>]["value"]`.
    INPUT = "value"

    @classmethod
    def for_offer(cls, kind: str) -> ActionId:
        """The button that opens the offer of this kind ("later", "smaller", "suggest"): OFFER_LATER…"""
        return cls(f"offer_{kind}")


class BlockId(StrEnum):
    """Blocks Slack names in a payload: the block of a pressed button, and a modal's fields (its state
    is keyed by them, and `response_action: errors` must name them)."""

    # Messages and the Home tab.
    ANSWER = "answer"
    OFFER = "offer"
    HELPER = "helper"
    ASKER = "asker"
    OFFER_ANSWER = "offer_answer"
    THANKS = "thanks"
    CHECK_IN = "check_in"
    EXPIRED = "expired"
    AVAILABILITY = "availability"
    YOUR_DATA = "your_data"
    INSIGHTS = "insights"
    INSIGHTS_CHART = "insights_chart"
    DIGEST_SETTINGS = "digest_settings"
    # A Home tab lists many asks: their buttons' blocks are made unique per ask, see `per_ask`.
    MY_ASK = "mine"
    ASK_FOR_ME = "for"
    # The ask modal's fields.
    ASK = "ask"
    SCOPE = "scope"
    ESTIMATE = "estimate"
    DECLINE = "decline"
    TEAMMATES = "teammates"
    NEEDED_BY = "needed_by"
    HELPERS_NEEDED = "helpers_needed"
    # The offer modal's fields (and NOTE).
    DAY = "day"
    TIME = "time"
    MINUTES = "minutes"
    PERSON = "person"
    # The thank-you modal's fields (and the offer modal's note).
    NOTE = "note"
    SHARE = "share"


def per_ask(block: BlockId, ask_id: str) -> str:
    """A block id unique to one ask in a view that lists several: `mine-<ask id>`."""
    return f"{block}-{ask_id}"


class CallbackId(StrEnum):
    """Modals (view_submission's `view.callback_id`) and manifest.yml's shortcuts (`callback_id`)."""

    ASK_SUBMIT = "ask_submit"
    OFFER_SUBMIT = "offer_submit"
    THANKS_SUBMIT = "thanks_submit"
    ERASE_CONFIRM = "erase_confirm"
    ASK_ABOUT_MESSAGE = "ask_about_message"  # the message shortcut
    NEW_ASK = "new_ask"  # the global shortcut


class FunctionId(StrEnum):
    """manifest.yml's custom steps for Workflow Builder (`functions.<callback_id>`; a function_executed event
    carries it as `event.function.callback_id`)."""

    SEND_ASK = "send_ask"


class StepInput(StrEnum):
    """The send_ask step's input parameters (manifest.yml), as `event.inputs` names them. Those the modal has
    too are named as its fields, so the domain's errors about a field name the input."""

    ASKER = "asker"
    TEAMMATES = "teammates"
    ASK = "ask"
    SCOPE = "scope"
    ESTIMATE = "estimate"
    DECLINE = "decline"
    NEEDED_BY = "needed_by"
    HELPERS_NEEDED = "helpers_needed"
    WORKFLOW_NAME = "workflow_name"


class StepOutput(StrEnum):
    """The send_ask step's output parameters (manifest.yml), sent with functions.completeSuccess."""

    OUTCOME = "outcome"
    HELPERS = "helpers"
    HELPED_MINUTES = "helped_minutes"
    THANKED = "thanked"


class EventType(StrEnum):
    """The Events API events manifest.yml subscribes to (`event.type`)."""

    REACTION_ADDED = "reaction_added"
    REACTION_REMOVED = "reaction_removed"
    APP_HOME_OPENED = "app_home_opened"
    USER_CHANGE = "user_change"
    TEAM_JOIN = "team_join"
    APP_UNINSTALLED = "app_uninstalled"
    TOKENS_REVOKED = "tokens_revoked"
    FUNCTION_EXECUTED = "function_executed"  # a workflow ran one of FunctionId's steps


class Command(StrEnum):
    """manifest.yml's slash commands."""

    ASK = "/ask"


JINJA_GLOBALS = {"ActionId": ActionId, "BlockId": BlockId, "CallbackId": CallbackId, "per_ask": per_ask}
