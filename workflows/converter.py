"""The one data converter shared by client, worker, Replayer and codec server.

Payloads (workflow inputs, results, update/query arguments, activity arguments, state carried
across continue-as-new, failure details, and failure messages and stack traces, which the failure
converter encodes as a payload when encryption is on) are converted with pydantic v2
(the SDK's pydantic converter, its type adapters shared across workflow instances:
workflows/payload_converter.py) and then encrypted with AES-256-GCM
by :class:`EncryptionCodec`. Search attributes, workflow ids, memos' keys and timer/activity
summaries bypass the codec; they must never hold PHI/PII (see docs "Data protection").

Keys live in a :class:`KeyRing`, configured as ``ENROLL_PAYLOAD_KEYS`` (read by the settings
module, never here)::

    ENROLL_PAYLOAD_KEYS="k2026:<base64 32 bytes>,k2025:<base64 32 bytes>"

The first key is the *active* key: it encrypts everything new. Every key in the ring decrypts,
so rotation is "prepend the new key, keep the old ones until no history still references them".

Wire format of an encrypted payload::

    metadata: encoding=binary/encrypted, encryption-key-id=<key id>
    data:     12-byte random nonce || AES-256-GCM(serialized original Payload, aad=<key id>)

This module performs no I/O and reads no environment: everything arrives as arguments.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
import re
from collections.abc import Iterable, Sequence

import google.protobuf.message
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

from workflows.payload_converter import EnginePayloadConverter

__all__ = [
    "ENCODING",
    "KEYS_SETTING",
    "KEY_ID_METADATA",
    "EncryptionCodec",
    "KeyRing",
    "KeyRingError",
    "PayloadDecryptionError",
    "build_data_converter",
]

KEYS_SETTING = "ENROLL_PAYLOAD_KEYS"
"""Name of the setting that holds the key spec; used in error messages only."""

ENCODING = "binary/encrypted"
"""``encoding`` metadata value of a payload produced by :class:`EncryptionCodec`."""

KEY_ID_METADATA = "encryption-key-id"
"""Metadata entry naming the key that encrypted a payload."""

KEY_BYTES = 32
NONCE_BYTES = 12
TAG_BYTES = 16

_KEY_ID_RE = re.compile(r"[A-Za-z0-9._-]{1,64}")
_GENERATE_HINT = (
    "Generate one with "
    "`python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'`"
)
_SPEC_FORMAT = "'KEY_ID:BASE64_KEY[,KEY_ID:BASE64_KEY...]' (first = active)"


class KeyRingError(ValueError):
    """A key ring or its ``ENROLL_PAYLOAD_KEYS`` spec is invalid. Never carries key material."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload could not be decrypted (unknown key id, tampering, corruption)."""


def _looks_like_key(text: str) -> bool:
    """Whether ``text`` is plausibly base64 key material (so it must not be echoed)."""
    try:
        return len(base64.b64decode(text, validate=True)) >= 16
    except (binascii.Error, ValueError):
        return False


def _check_key_id(key_id: object, where: str) -> str:
    """Validate one key id; ``where`` says where it came from, for the message."""
    if not isinstance(key_id, str):
        raise KeyRingError(f"{where}: key id must be a str, got {type(key_id).__name__}")
    if _KEY_ID_RE.fullmatch(key_id):
        return key_id
    if not key_id:
        raise KeyRingError(
            f"{where}: key id is empty; expected {_SPEC_FORMAT}, "
            "key id matching [A-Za-z0-9._-]{1,64}"
        )
    problems = []
    if len(key_id) > 64:
        problems.append(f"is {len(key_id)} characters long (max 64)")
    bad = sorted({c for c in key_id if not re.fullmatch(r"[A-Za-z0-9._-]", c)})
    if bad:
        problems.append("contains " + ", ".join(repr(c) for c in bad))
    # An id that is really a pasted key (KEY:ID swapped) must not end up in logs.
    shown = "(not shown: it looks like key material)" if _looks_like_key(key_id) else repr(key_id)
    raise KeyRingError(
        f"{where}: key id {shown} "
        + " and ".join(problems)
        + "; key ids must match [A-Za-z0-9._-]{1,64}, e.g. 'k2026'"
    )


def _check_key(key_id: str, key: object) -> bytes:
    if not isinstance(key, bytes | bytearray):
        raise KeyRingError(f"key {key_id!r} must be bytes, got {type(key).__name__}")
    if len(key) != KEY_BYTES:
        raise KeyRingError(
            f"key {key_id!r} is {len(key)} bytes; AES-256 needs {KEY_BYTES}. {_GENERATE_HINT}"
        )
    return bytes(key)


class KeyRing:
    """An ordered set of AES-256 keys by key id.

    The *active* key (the first one, unless ``active_key_id`` names another) encrypts; every
    key decrypts. Key material never appears in ``repr``/``str`` or in error messages.
    """

    __slots__ = ("_active", "_aead", "_keys")

    def __init__(
        self, keys: Iterable[tuple[str, bytes]], *, active_key_id: str | None = None
    ) -> None:
        ordered: dict[str, bytes] = {}
        for position, entry in enumerate(keys, start=1):
            key_id, key = entry
            key_id = _check_key_id(key_id, f"key {position}")
            if key_id in ordered:
                raise KeyRingError(
                    f"key id {key_id!r} appears more than once; each key id must be unique. "
                    "Remove the duplicate or give the new key a new id (e.g. 'k2026b')"
                )
            ordered[key_id] = _check_key(key_id, key)
        if not ordered:
            raise KeyRingError(
                f"the key ring is empty; {KEYS_SETTING} needs at least one key, "
                f"formatted {_SPEC_FORMAT}. {_GENERATE_HINT}"
            )
        if active_key_id is None:
            active_key_id = next(iter(ordered))
        elif active_key_id not in ordered:
            raise KeyRingError(
                f"active key {active_key_id!r} is not in the key ring "
                f"(key ids: {', '.join(map(repr, ordered))}); add it or name one of those"
            )
        self._keys = ordered
        self._active = active_key_id
        self._aead = {kid: AESGCM(key) for kid, key in ordered.items()}

    @classmethod
    def from_config(cls, spec: str, *, active_key_id: str | None = None) -> KeyRing:
        """Parse ``"k2026:<base64 32 bytes>,k2025:<base64 32 bytes>"`` (first = active).

        Whitespace around entries, ids and keys is ignored. Raises :class:`KeyRingError`
        saying which entry is wrong and how to fix it.
        """
        if not isinstance(spec, str):
            raise KeyRingError(f"{KEYS_SETTING} must be a str, got {type(spec).__name__}")
        if not spec.strip():
            raise KeyRingError(
                f"{KEYS_SETTING} is empty; set it to {_SPEC_FORMAT}. {_GENERATE_HINT}"
            )
        entries: list[tuple[str, bytes]] = []
        for position, raw in enumerate(spec.split(","), start=1):
            entry = raw.strip()
            where = f"{KEYS_SETTING} entry {position}"
            if not entry:
                raise KeyRingError(
                    f"{where} is empty (stray or doubled comma?); expected {_SPEC_FORMAT}"
                )
            key_id, sep, encoded = entry.partition(":")
            if not sep:
                # The entry may be a bare key: say nothing about its content.
                raise KeyRingError(
                    f"{where} has no ':' between key id and key; expected {_SPEC_FORMAT}"
                )
            key_id = _check_key_id(key_id.strip(), where)
            encoded = encoded.strip()
            if not encoded:
                raise KeyRingError(
                    f"key {key_id!r} has no key after ':'; expected {_SPEC_FORMAT}. "
                    f"{_GENERATE_HINT}"
                )
            try:
                key = base64.b64decode(encoded, validate=True)
            except (binascii.Error, ValueError) as err:
                raise KeyRingError(
                    f"key {key_id!r} is not valid standard base64 ({err}); expected "
                    f"{KEY_BYTES} random bytes, base64-encoded (44 characters ending in '='). "
                    f"{_GENERATE_HINT}"
                ) from None
            if len(key) != KEY_BYTES:
                raise KeyRingError(
                    f"key {key_id!r} is {len(key)} bytes after base64 decoding; AES-256 needs "
                    f"{KEY_BYTES}. {_GENERATE_HINT}"
                )
            if any(kid == key_id for kid, _ in entries):
                raise KeyRingError(
                    f"key id {key_id!r} appears more than once in {KEYS_SETTING}; each key id "
                    "must be unique. Remove the duplicate or give the new key a new id "
                    "(e.g. 'k2026b')"
                )
            entries.append((key_id, key))
        return cls(entries, active_key_id=active_key_id)

    @classmethod
    def generate(cls, key_id: str = "dev") -> KeyRing:
        """A one-key ring with a fresh random key (dev and tests only: it is not persisted)."""
        return cls([(key_id, os.urandom(KEY_BYTES))])

    def to_config(self) -> str:
        """The ``ENROLL_PAYLOAD_KEYS`` spec for this ring, active key first.

        The result contains key material: treat it as a secret.
        """
        order = [self._active, *(kid for kid in self._keys if kid != self._active)]
        return ",".join(f"{kid}:{base64.b64encode(self._keys[kid]).decode()}" for kid in order)

    @property
    def active_key_id(self) -> str:
        """Id of the key that encrypts new payloads."""
        return self._active

    @property
    def key_ids(self) -> tuple[str, ...]:
        """All key ids, in ring order."""
        return tuple(self._keys)

    def __contains__(self, key_id: object) -> bool:
        return key_id in self._keys

    def __len__(self) -> int:
        return len(self._keys)

    def __repr__(self) -> str:
        return f"KeyRing(active={self._active!r}, key_ids={self.key_ids!r})"

    __str__ = __repr__

    def _aead_for(self, key_id: str) -> AESGCM | None:
        return self._aead.get(key_id)


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM payload codec with a key id in the metadata, for key rotation.

    ``encode`` encrypts the whole serialized payload (data and metadata) with the ring's active
    key and a fresh random 12-byte nonce, using the key id as associated data so a ciphertext
    cannot be relabelled to another key. ``decode`` decrypts with whichever ring key the payload
    names and passes through payloads that are not ``binary/encrypted`` (older, unencrypted
    histories still read).
    """

    def __init__(self, keyring: KeyRing) -> None:
        if not isinstance(keyring, KeyRing):
            raise TypeError(f"EncryptionCodec needs a KeyRing, got {type(keyring).__name__}")
        self._keyring = keyring

    @property
    def keyring(self) -> KeyRing:
        """The key ring this codec encrypts and decrypts with."""
        return self._keyring

    def __repr__(self) -> str:
        return f"EncryptionCodec({self._keyring!r})"

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Encrypt each payload with the active key."""
        key_id = self._keyring.active_key_id
        aead = self._keyring._aead_for(key_id)
        assert aead is not None  # the active key is always in the ring
        aad = key_id.encode()
        encoded = []
        for payload in payloads:
            nonce = os.urandom(NONCE_BYTES)
            ciphertext = aead.encrypt(nonce, payload.SerializeToString(), aad)
            encoded.append(
                Payload(
                    metadata={"encoding": ENCODING.encode(), KEY_ID_METADATA: aad},
                    data=nonce + ciphertext,
                )
            )
        return encoded

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        """Decrypt ``binary/encrypted`` payloads; pass every other payload through unchanged."""
        return [self._decode_one(payload) for payload in payloads]

    def _decode_one(self, payload: Payload) -> Payload:
        if payload.metadata.get("encoding", b"") != ENCODING.encode():
            return payload
        raw_key_id = payload.metadata.get(KEY_ID_METADATA)
        if raw_key_id is None:
            raise PayloadDecryptionError(
                f"encrypted payload has no {KEY_ID_METADATA!r} metadata, so the key that "
                "encrypted it is unknown; it was not produced by this codec or was altered"
            )
        key_id = raw_key_id.decode("utf-8", errors="replace")
        aead = self._keyring._aead_for(key_id)
        if aead is None:
            shown = repr(key_id) if len(key_id) <= 64 else repr(key_id[:64] + "...")
            raise PayloadDecryptionError(
                f"payload was encrypted with key {shown}, which is not in {KEYS_SETTING}; "
                "add the retired key back to decrypt it (configured key ids: "
                f"{', '.join(map(repr, self._keyring.key_ids))})"
            )
        data = payload.data
        if len(data) < NONCE_BYTES + TAG_BYTES:
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r} is truncated: {len(data)} bytes, "
                f"less than the {NONCE_BYTES}-byte nonce plus {TAG_BYTES}-byte tag"
            )
        try:
            plaintext = aead.decrypt(data[:NONCE_BYTES], data[NONCE_BYTES:], raw_key_id)
        except InvalidTag:
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r} failed authentication: the data or its "
                f"{KEY_ID_METADATA!r} label was tampered with or corrupted, or a different key "
                f"was configured under the id {key_id!r}"
            ) from None
        try:
            return Payload.FromString(plaintext)
        except google.protobuf.message.DecodeError as err:  # authentic but not a Payload
            raise PayloadDecryptionError(
                f"payload encrypted with key {key_id!r} decrypted, but the plaintext is not a "
                f"serialized Payload ({err}); it was not produced by this codec"
            ) from None


# The SDK's pydantic data converter, its type adapters shared by every workflow instance.
ENGINE_DATA_CONVERTER = DataConverter(payload_converter_class=EnginePayloadConverter)


def build_data_converter(keyring: KeyRing | None) -> DataConverter:
    """The pydantic data converter, with payload encryption when a key ring is given.

    Give the same converter to ``Client.connect``, ``Worker`` (via the client), ``Replayer`` and
    the codec server; a Replayer without the codec fails on encrypted histories.
    """
    if keyring is None:
        return ENGINE_DATA_CONVERTER
    # Failure messages and stack traces are not payloads: the SDK writes them to history as they
    # are unless the failure converter moves them into an encoded attribute payload, which the
    # codec then encrypts like any other. An exception's text can quote a value (a database
    # error its parameters), so with encryption on it is never left in clear.
    return dataclasses.replace(
        ENGINE_DATA_CONVERTER,
        payload_codec=EncryptionCodec(keyring),
        failure_converter_class=DefaultFailureConverterWithEncodedAttributes,
    )
