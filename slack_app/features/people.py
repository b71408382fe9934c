"""Who someone is (bot? deactivated? time zone? language? admin?), from each workspace's people directory.

The directory is filled from users.list (200 a page, with each person's language) the first time a
workspace needs it, and afresh once it is older than SLACK_ASK_DIRECTORY_DAYS; user_change and team_join
keep it current in between. Someone it doesn't know yet (joined since, or before the first fill is
done) is looked up once with users.info and added. So nothing a person waits for waits for Slack to
say who a teammate is, except once for a teammate nobody has needed before.

The refresh is background work: it runs in a task of its own, outside any person's request, so its
users.list calls wait for their turns in the workspace's budget (rate_budget.py); one instance at a time
does it, under a lease renewed with every page.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import secrets
import time

from redis.exceptions import RedisError
from slack_sdk.errors import SlackApiError

from ..domain.asks import Person
from ..slack.slack_api import Clients, NotInstalled
from ..store.store import Store
from ..text.i18n import ENGLISH, Language, language_of

PAGE_SIZE = 200  # Slack's advice for users.list: at most 200 a page
REFRESH_LEASE_SECONDS = 60.0  # renewed with every page; users.list is Tier 2, a page every 3 s at worst
REFRESH_RETRY_SECONDS = 30.0  # after a refresh failed here, or another instance holds it, ask again no sooner

log = logging.getLogger(__name__)


def person_from_slack(user: dict) -> Person:
    """A users.info / users.list member / user_change or team_join event's user, as slack-ask needs it."""
    return Person(
        id=str(user["id"]),
        name=user.get("real_name") or user.get("name") or "",
        is_bot=bool(user.get("is_bot")) or user["id"] == "USLACKBOT",
        deleted=bool(user.get("deleted")),
        tz=user.get("tz") or "UTC",
        is_admin=bool(user.get("is_admin") or user.get("is_owner")),
        locale=user.get("locale") or "",
    )


def _changed_at(user: dict) -> float:
    """When Slack last changed this person (its `updated`); now, where Slack didn't say."""
    return float(user.get("updated") or time.time())


class People:
    def __init__(self, store: Store, clients: Clients, refresh_after_seconds: float = 7 * 24 * 3600):
        self.store = store
        self.clients = clients
        self.refresh_after_seconds = refresh_after_seconds
        self._looking_up: dict[tuple[str, str], asyncio.Future] = {}  # (team, user) → its users.info in flight
        self._refreshing: dict[str, asyncio.Task] = {}  # team → its refresh running here
        self._next_refresh_try: dict[str, float] = {}  # team → when this process may try again (monotonic)

    async def get(self, team_id: str, user_id: str) -> Person:
        return (await self.get_many(team_id, [user_id]))[user_id]

    async def get_many(self, team_id: str, user_ids: list[str]) -> dict[str, Person]:
        """These people, from the directory in one round trip; anyone it doesn't know, from Slack once."""
        wanted = list(dict.fromkeys(user_ids))
        people, filled_at = await self.store.directory(team_id, wanted)
        self._keep_fresh(team_id, filled_at)
        missing = [uid for uid in wanted if uid not in people]
        if missing:
            found = await asyncio.gather(*(self._learn(team_id, uid) for uid in missing))
            people.update((person.id, person) for person in found)
        return people

    async def known_language(self, team_id: str, user_id: str) -> Language | None:
        """Their language if the directory knows it; None rather than ask Slack (a modal can't wait)."""
        try:
            people, filled_at = await self.store.directory(team_id, [user_id])
        except (RedisError, OSError):
            return None
        self._keep_fresh(team_id, filled_at)
        return language_of(people[user_id].locale) if user_id in people else None

    async def language_of(self, team_id: str, user_id: str) -> Language:
        """The language someone reads slack-ask in. With Redis down they are asked of Slack directly
        (a message saying so must still be theirs); English when even that fails."""
        try:
            person = await self.get(team_id, user_id)
        except RedisError:
            try:
                person = await self._look_up(team_id, user_id)
            except (SlackApiError, RedisError, OSError, NotInstalled):
                return ENGLISH
        except (SlackApiError, OSError, NotInstalled):
            return ENGLISH
        return language_of(person.locale)

    async def changed(self, team_id: str, user: dict) -> Person:
        """Slack says someone joined or changed (team_join, user_change): the directory follows."""
        person = person_from_slack(user)
        await self.store.add_people(team_id, [(person, _changed_at(user))])
        return person

    # --- someone the directory doesn't know yet ---

    async def _learn(self, team_id: str, user_id: str) -> Person:
        """One users.info per person however many ask at once here; what it says goes into the directory."""
        key = (team_id, user_id)
        learning = self._looking_up.get(key)
        if learning is None:
            learning = asyncio.ensure_future(self._look_up_and_add(team_id, user_id))
            self._looking_up[key] = learning
            learning.add_done_callback(lambda _: self._looking_up.pop(key, None))
        return await asyncio.shield(learning)

    async def _look_up_and_add(self, team_id: str, user_id: str) -> Person:
        person, changed_at = await self._look_up_with_time(team_id, user_id)
        await self.store.add_people(team_id, [(person, changed_at)])
        return person

    async def _look_up(self, team_id: str, user_id: str) -> Person:
        return (await self._look_up_with_time(team_id, user_id))[0]

    async def _look_up_with_time(self, team_id: str, user_id: str) -> tuple[Person, float]:
        client = await self.clients.for_team(team_id)
        try:
            response = await client.users_info(user=user_id, include_locale=True)
        except SlackApiError as error:
            if error.response.get("error") == "user_not_found":
                return Person(id=user_id, deleted=True), 0.0  # anything Slack says of them later wins
            raise
        return person_from_slack(response["user"]), _changed_at(response["user"])

    # --- the full refresh ---

    def _keep_fresh(self, team_id: str, filled_at: float | None) -> None:
        """Starts a refresh in the background when the directory was never filled or is too old."""
        if filled_at is not None and time.time() - filled_at < self.refresh_after_seconds:
            return
        running = self._refreshing.get(team_id)
        if (running and not running.done()) or time.monotonic() < self._next_refresh_try.get(team_id, 0.0):
            return
        # A context of its own: not the request's, whose person is not waiting for this.
        task = asyncio.get_running_loop().create_task(
            self._refresh_here(team_id), name=f"people directory {team_id}", context=contextvars.Context()
        )
        self._refreshing[team_id] = task

    async def _refresh_here(self, team_id: str) -> None:
        if not await self.refresh(team_id):  # failed, or another instance is at it: not again at once
            self._next_refresh_try[team_id] = time.monotonic() + REFRESH_RETRY_SECONDS

    async def refresh(self, team_id: str) -> bool:
        """Fills the directory afresh from users.list, if no other instance is; True once it is filled."""
        holder = secrets.token_hex(8)
        try:
            if not await self.store.claim_directory_refresh(team_id, holder, REFRESH_LEASE_SECONDS):
                return False
            pages = await self._fill(team_id, holder)
        except Exception:  # Slack or Redis failing, or anything else: the next need tries again
            log.warning("people directory not refreshed; trying again later", extra={"team": team_id}, exc_info=True)
            return False
        if pages is None or not await self.store.finish_directory_refresh(team_id, holder):
            log.warning("people directory refresh taken over by another instance", extra={"team": team_id})
            return False
        log.info("people directory refreshed", extra={"team": team_id, "pages": pages})
        return True

    async def _fill(self, team_id: str, holder: str) -> int | None:
        """Every page of users.list into the directory being built: how many pages, None if the lease was lost."""
        client = await self.clients.for_team(team_id)
        # An org-wide install's token lists a workspace's members only when told which workspace.
        which = {"team_id": team_id} if getattr(client, "workspace", team_id) != team_id else {}
        cursor, pages = "", 0
        while True:
            response = await client.users_list(limit=PAGE_SIZE, include_locale=True, cursor=cursor or None, **which)
            pages += 1
            members = [(person_from_slack(user), _changed_at(user)) for user in response.get("members") or []]
            if not await self.store.add_directory_page(team_id, holder, members, REFRESH_LEASE_SECONDS):
                return None
            cursor = (response.get("response_metadata") or {}).get("next_cursor") or ""
            if not cursor:
                return pages
