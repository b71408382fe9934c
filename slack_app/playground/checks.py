"""What Slack would reject: unknown methods or arguments, missing scopes, and Block Kit that breaks its rules.

The strictest checks come from Slack's reference data in `slack-reference/` (the Web API method
catalogue and the Block Kit JSON schema), which sits beside a checkout (`../shared/slack-reference`)
or wherever SLACK_REFERENCE_DIR points, and is not shipped with the package. Without it (or without
the `jsonschema` package), Block Kit is checked with slack_sdk's own models and Slack's numeric limits,
and method names and arguments are not checked at all. Scopes are checked against manifest.yml's bot
scopes whenever the manifest is found: each method's scopes come from the catalogue, or without it from
the short list below of the methods the playground answers.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import yaml
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View

CHECKOUT = Path(__file__).resolve().parents[2]  # the repo root, when the package runs from a checkout
MANIFEST = CHECKOUT / "manifest.yml"
SCHEMA = Path("block-kit-schema-tightknit", "slack-block-kit.schema.json")  # inside slack-reference/
CATALOGUE = Path("web-api-methods", "methods.json")

MESSAGE_BLOCK_LIMIT = 50
VIEW_BLOCK_LIMIT = 100
MESSAGE_TEXT_LIMIT = 40000

# The bot scopes (any one will do) of the methods the playground answers that need one, as the catalogue
# lists them (tests/test_playground.py keeps the two equal): for checking scopes without the catalogue.
ANSWERED_METHOD_SCOPES = {
    "chat.postMessage": ["chat:write"],
    "chat.update": ["chat:write"],
    "chat.postEphemeral": ["chat:write"],
    "users.info": ["users:read"],
    "users.list": ["users:read"],
    "usergroups.users.list": ["usergroups:read"],
    "conversations.open": ["channels:manage", "groups:write", "im:write", "mpim:write"],
    "conversations.history": ["channels:history", "groups:history", "im:history", "mpim:history"],
    "files.getUploadURLExternal": ["files:write"],
    "files.completeUploadExternal": ["files:write"],
    "files.delete": ["files:write"],
}

# slack_sdk adds team_id to every call from a client Bolt hands a listener (org-ready apps);
# Slack accepts it on every method, though the catalogue lists it on few.
ALWAYS_ACCEPTED_ARGS = {"token", "team_id"}


def find_reference() -> Path | None:
    """SLACK_REFERENCE_DIR, else `shared/slack-reference` beside the checkout; None when neither exists."""
    configured = os.environ.get("SLACK_REFERENCE_DIR")
    candidate = Path(configured) if configured else CHECKOUT.parent / "shared" / "slack-reference"
    return candidate if candidate.is_dir() else None


def as_json(value: Any) -> Any:
    """Slack accepts blocks and views as JSON strings (form-encoded calls) or as objects."""
    return json.loads(value) if isinstance(value, str) else value


class BlockKit(Protocol):
    description: str

    def block_errors(self, blocks: Any) -> list[str]: ...

    def view_errors(self, view: Any, kind: str) -> list[str]: ...


class SchemaBlockKit:
    """Block Kit checked against the JSON schema compiled from Slack's Block Kit reference.

    A block's validity depends on nothing around it, and the same blocks come back again and again
    (a card redrawn, a Home tab republished), while checking one against the schema's big union of
    block types is slow: each distinct block is checked once, and the surface around the blocks
    (how many, which fields a view has) is checked with a schema whose `items` are left to that cache."""

    description = "the Block Kit JSON schema"

    def __init__(self, schema_path: Path, cached_blocks: int = 8192):
        import jsonschema  # a test dependency: only needed where the reference data is

        schema = json.loads(schema_path.read_text())
        defs = dict(schema["$defs"])
        for view in ("modal_view", "home_view"):
            defs[view] = {
                **defs[view],
                "properties": {
                    **defs[view]["properties"],
                    "blocks": _without_items(defs[view]["properties"]["blocks"]),
                },
            }
        surface = {"$schema": schema["$schema"], "$defs": defs}
        self._surfaces = {
            "blocks": jsonschema.Draft202012Validator({**_without_items(schema), "$defs": defs}),
            "modal": jsonschema.Draft202012Validator({**surface, "$ref": "#/$defs/modal_view"}),
            "home": jsonschema.Draft202012Validator({**surface, "$ref": "#/$defs/home_view"}),
        }
        self._block = jsonschema.Draft202012Validator({**surface, "$ref": "#/$defs/block"})
        self._errors_of_json_block = lru_cache(maxsize=cached_blocks)(
            lambda text: self._errors_of_value(json.loads(text))
        )

    def block_errors(self, blocks: Any) -> list[str]:
        return self._errors("blocks", blocks, blocks, [])

    def view_errors(self, view: Any, kind: str) -> list[str]:
        return self._errors(kind, view, view.get("blocks") if isinstance(view, dict) else None, ["blocks"])

    def _errors(self, kind: str, value: Any, blocks: Any, path: list) -> list[str]:
        errors = [
            f"{error.message} at {list(error.absolute_path)}" for error in self._surfaces[kind].iter_errors(value)
        ]
        for index, block in enumerate(blocks if isinstance(blocks, list) else []):
            errors += [f"{message} at {path + [index] + inner}" for message, inner in self._errors_of_block(block)]
        return errors

    def _errors_of_block(self, block: Any) -> list[tuple[str, list]]:
        try:
            text = json.dumps(block)  # key order kept: error messages quote the block as sent
        except (TypeError, ValueError):  # not JSON at all: the schema says why, uncached
            return self._errors_of_value(block)
        return self._errors_of_json_block(text)

    def _errors_of_value(self, block: Any) -> list[tuple[str, list]]:
        return [(error.message, list(error.absolute_path)) for error in self._block.iter_errors(block)]


def _without_items(array_schema: dict) -> dict:
    return {key: value for key, value in array_schema.items() if key != "items"}


class ModelBlockKit:
    """Block Kit checked with slack_sdk's models: each block's type and fields, and their length limits."""

    description = "slack_sdk's Block Kit models: types, fields and lengths such as 3000 characters of section text"

    def block_errors(self, blocks: Any) -> list[str]:
        if not isinstance(blocks, list):
            return ["blocks must be a list"]
        return [f"{problem} at [{index}]" for index, block in enumerate(blocks) for problem in _block_problems(block)]

    def view_errors(self, view: Any, kind: str) -> list[str]:
        if not isinstance(view, dict) or view.get("type") != kind:
            return [f"not a {kind} view"]
        # The block count is checked for every kind of check alike, so the model sees at most the limit.
        fields = {**view, "blocks": view.get("blocks", [])[:VIEW_BLOCK_LIMIT]}
        problems = _model_problems(lambda: View(**fields).validate_json())
        return problems + [f"blocks: {problem}" for problem in self.block_errors(view.get("blocks", []))]


def _block_problems(block: Any) -> list[str]:
    if not isinstance(block, dict):
        return ["a block must be an object"]
    parsed = Block.parse(block)
    if parsed is None:
        return [f"unknown block type {block.get('type')!r}"]
    return _model_problems(parsed.validate_json)


def _model_problems(validate) -> list[str]:
    try:
        validate()
    except (SlackObjectFormationError, TypeError, KeyError, ValueError) as error:
        return [str(error)]
    return []


def check_blocks(block_kit: BlockKit, blocks: Any, limit: int, where: str) -> list[str]:
    """A message's blocks: valid Block Kit, at most `limit` of them, no repeated ids."""
    blocks = as_json(blocks)
    problems = [f"{where}: {problem}" for problem in block_kit.block_errors(blocks)]
    if isinstance(blocks, list):
        if len(blocks) > limit:
            problems.append(f"{where}: {len(blocks)} blocks (limit {limit})")
        problems += _duplicate_ids(blocks, where)
    return problems


def check_view(block_kit: BlockKit, view: Any, kind: str) -> list[str]:
    """A modal or Home view: valid Block Kit, at most 100 blocks, no repeated ids."""
    view = as_json(view)
    problems = [f"view: {problem}" for problem in block_kit.view_errors(view, kind)]
    blocks = view.get("blocks", []) if isinstance(view, dict) else []
    if len(blocks) > VIEW_BLOCK_LIMIT:
        problems.append(f"view: {len(blocks)} blocks (limit {VIEW_BLOCK_LIMIT})")
    return problems + _duplicate_ids(blocks, "view")


def _duplicate_ids(blocks: list, where: str) -> list[str]:
    block_ids = Counter(b.get("block_id") for b in blocks if isinstance(b, dict) and b.get("block_id"))
    action_ids: Counter[tuple[object, object]] = Counter()  # (block_id, action_id), as the JSON has them
    for block in blocks:
        if not isinstance(block, dict):
            continue
        elements = (
            block.get("elements", [])
            if block.get("type") == "actions"
            else [block.get("element") or block.get("accessory") or {}]
        )
        for element in elements:
            if isinstance(element, dict) and element.get("action_id"):
                action_ids[(block.get("block_id"), element["action_id"])] += 1
    return [f"{where}: duplicate block_id {bid}" for bid, n in block_ids.items() if n > 1] + [
        f"{where}: duplicate action_id {aid}" for (_, aid), n in action_ids.items() if n > 1
    ]


def _catalogue(reference: Path) -> dict[str, dict]:
    return json.loads((reference / CATALOGUE).read_text())


def manifest_scopes(manifest: Path) -> set[str]:
    """The bot scopes an install from this manifest grants."""
    declared = yaml.safe_load(manifest.read_text())
    return set(declared.get("oauth_config", {}).get("scopes", {}).get("bot", []))


@dataclass(frozen=True)
class Rejection:
    error: str  # Slack's error code
    problems: list[str]


class Checks:
    """Slack's checks on a Web API call, in Slack's order: the method, its scope, then its arguments."""

    def __init__(self, block_kit: BlockKit, catalogue: dict[str, dict] | None = None, granted: set[str] | None = None):
        self.block_kit = block_kit
        self.catalogue = catalogue  # None: method names and arguments go unchecked
        self.granted = granted  # None: scopes go unchecked

    @classmethod
    def from_reference(cls, reference: Path, manifest: Path | None = None) -> Checks:
        """Every check, from the reference data; fails if it (or jsonschema) is missing."""
        return cls(
            SchemaBlockKit(reference / SCHEMA), _catalogue(reference), manifest_scopes(manifest) if manifest else None
        )

    @classmethod
    def best_available(cls) -> Checks:
        """The strictest checks this installation can run (see the module's docstring)."""
        granted = manifest_scopes(MANIFEST) if MANIFEST.is_file() else None
        reference = find_reference()
        if reference is None:
            return cls(ModelBlockKit(), granted=granted)
        try:
            block_kit: BlockKit = SchemaBlockKit(reference / SCHEMA)
        except ImportError:  # no jsonschema: keep the catalogue, check Block Kit with the models
            block_kit = ModelBlockKit()
        return cls(block_kit, _catalogue(reference), granted)

    def describe(self) -> list[str]:
        """What is checked, in words for the page."""
        return [
            f"Block Kit: {self.block_kit.description}, ≤ {MESSAGE_BLOCK_LIMIT} blocks a message, ≤ {VIEW_BLOCK_LIMIT} a view",
            "Methods and arguments: Slack's method catalogue"
            if self.catalogue is not None
            else "Methods and arguments: not checked (no slack-reference found)",
            "Scopes: not checked (no manifest.yml found)"
            if self.granted is None
            else f"Scopes: manifest.yml's bot scopes, for {'every method' if self.catalogue is not None else 'the methods the playground answers'}",
        ]

    def rejection(self, method: str, args: dict[str, Any]) -> Rejection | None:
        spec = self.catalogue.get(method) if self.catalogue is not None else {}
        if spec is None:
            return Rejection("unknown_method", [f"unknown method {method}"])
        missing = self._missing_scope(method, spec)
        if missing:
            return Rejection("missing_scope", [missing])
        problems = self._argument_problems(spec, args) if self.catalogue is not None else []
        problems += self.content_problems(method, args)
        return Rejection("invalid_arguments", problems) if problems else None

    def _missing_scope(self, method: str, spec: dict) -> str | None:
        needed = (
            ANSWERED_METHOD_SCOPES.get(method, [])
            if self.catalogue is None
            else [scope["name"] for scope in spec.get("scopes", {}).get("bot", [])]
        )
        if self.granted is None or not needed or self.granted.intersection(needed):
            return None
        return f"missing scope: needs {' or '.join(needed)}; manifest.yml grants {', '.join(sorted(self.granted))}"

    @staticmethod
    def _argument_problems(spec: dict, args: dict[str, Any]) -> list[str]:
        known = spec.get("args", {})
        problems = [
            f"missing required argument {name}"
            for name, arg in known.items()
            if arg.get("required") and name not in args
        ]
        return problems + [
            f"unknown argument {name}" for name in args if name not in known and name not in ALWAYS_ACCEPTED_ARGS
        ]

    def content_problems(self, method: str, args: dict[str, Any]) -> list[str]:
        """A message's blocks and text, or a view: what Slack checks wherever the app sends them."""
        problems = []
        if "blocks" in args:
            problems += check_blocks(self.block_kit, args["blocks"], MESSAGE_BLOCK_LIMIT, "blocks")
            if not args.get("text"):
                problems.append("blocks without a text fallback (notifications and screen readers need it)")
        if len(str(args.get("text", ""))) > MESSAGE_TEXT_LIMIT:
            problems.append("text over 40,000 characters")
        if "view" in args:
            problems += check_view(self.block_kit, args["view"], "home" if method == "views.publish" else "modal")
        return problems
