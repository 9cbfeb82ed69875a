"""Token encryption (AES-256-GCM keyring) and signed OAuth state."""

from __future__ import annotations

import base64
import os

import pytest

from cliply.crypto import (
    CryptoError,
    Keyring,
    associated_data,
    generate_key,
    sign_state,
    verify_state,
)

AAD = associated_data("ws-1", "tiktok.refresh_token")


def _key() -> bytes:
    return os.urandom(32)


def _setting(*pairs: tuple[str, bytes]) -> str:
    return ",".join(f"{kid}:{base64.b64encode(key).decode()}" for kid, key in pairs)


def test_roundtrip_and_format() -> None:
    ring = Keyring({"k1": _key()})
    token = ring.encrypt("secret-token", AAD)
    assert token.startswith("v1:k1:")
    assert "secret-token" not in token
    assert ring.decrypt_text(token, AAD) == "secret-token"
    assert ring.decrypt(ring.encrypt(b"\x00\xffbytes", AAD), AAD) == b"\x00\xffbytes"
    # A fresh nonce per value: the same plaintext never encrypts the same way twice.
    assert ring.encrypt("secret-token", AAD) != token


def test_wrong_key_with_same_id_fails() -> None:
    token = Keyring({"k1": _key()}).encrypt("x", AAD)
    with pytest.raises(CryptoError) as err:
        Keyring({"k1": _key()}).decrypt(token, AAD)
    assert err.value.code == "decrypt-failed"


def test_missing_key_id_is_reported() -> None:
    token = Keyring({"old": _key()}).encrypt("x", AAD)
    with pytest.raises(CryptoError) as err:
        Keyring({"new": _key()}).decrypt(token, AAD)
    assert err.value.code == "unknown-key"
    assert "old" in err.value.message


def test_tampered_ciphertext_fails() -> None:
    ring = Keyring({"k1": _key()})
    token = ring.encrypt("payload", AAD)
    prefix, data = token.rsplit(":", 1)
    raw = bytearray(base64.urlsafe_b64decode(data + "=" * (-len(data) % 4)))
    raw[-1] ^= 0x01
    tampered = prefix + ":" + base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")
    with pytest.raises(CryptoError) as err:
        ring.decrypt(tampered, AAD)
    assert err.value.code == "decrypt-failed"


def test_relabelled_key_id_fails() -> None:
    # Both keys exist; changing the id in the header must not decrypt with the other key.
    k1, k2 = _key(), _key()
    ring = Keyring({"k1": k1, "k2": k2})
    token = ring.encrypt("payload", AAD)
    relabelled = token.replace("v1:k1:", "v1:k2:", 1)
    with pytest.raises(CryptoError) as err:
        ring.decrypt(relabelled, AAD)
    assert err.value.code == "decrypt-failed"


def test_associated_data_mismatch_fails() -> None:
    ring = Keyring({"k1": _key()})
    token = ring.encrypt("payload", associated_data("ws-1", "tiktok.refresh_token"))
    for other in (
        associated_data("ws-2", "tiktok.refresh_token"),
        associated_data("ws-1", "youtube.refresh_token"),
        associated_data("ws-1tiktok", ".refresh_token"),
    ):
        with pytest.raises(CryptoError) as err:
            ring.decrypt(token, other)
        assert err.value.code == "decrypt-failed"


@pytest.mark.parametrize(
    "value", ["plain-token", "", "v1:k1", "v2:k1:AAAA", "v1:k1:!!!", "v1:k1:AAAA"]
)
def test_no_plaintext_fallback(value: str) -> None:
    with pytest.raises(CryptoError) as err:
        Keyring({"k1": _key()}).decrypt(value, AAD)
    assert err.value.code == "malformed-ciphertext"


def test_rotation() -> None:
    k1, k2 = _key(), _key()
    old_ring = Keyring.from_setting(_setting(("k1", k1)))
    old_token = old_ring.encrypt("refresh-token", AAD)

    ring = Keyring.from_setting(_setting(("k2", k2), ("k1", k1)))
    assert ring.current == "k2"
    assert ring.needs_rotation(old_token)
    assert ring.decrypt_text(old_token, AAD) == "refresh-token"  # old rows stay readable

    rotated = ring.rotate(old_token, AAD)
    assert ring.key_id_of(rotated) == "k2"
    assert not ring.needs_rotation(rotated)
    assert ring.rotate(rotated, AAD) == rotated
    # Once every row is rotated, k1 can be dropped.
    only_new = Keyring.from_setting(_setting(("k2", k2)))
    assert only_new.decrypt_text(rotated, AAD) == "refresh-token"
    with pytest.raises(CryptoError) as err:
        only_new.decrypt(old_token, AAD)
    assert err.value.code == "unknown-key"


def test_rotate_requires_right_associated_data() -> None:
    k1, k2 = _key(), _key()
    token = Keyring({"k1": k1}).encrypt("x", AAD)
    ring = Keyring({"k2": k2, "k1": k1})
    with pytest.raises(CryptoError):
        ring.rotate(token, associated_data("other-ws", "x"))


def test_generated_key_parses() -> None:
    ring = Keyring.from_setting(f"main:{generate_key()}")
    assert ring.key_ids == ["main"]
    assert ring.decrypt_text(ring.encrypt("ok", AAD), AAD) == "ok"


@pytest.mark.parametrize(
    "setting",
    [
        "",
        "k1",
        "k1:not base64 at all!",
        f"k1:{base64.b64encode(b'short').decode()}",
        f"bad id:{base64.b64encode(bytes(32)).decode()}",
        f"k1:{base64.b64encode(bytes(32)).decode()},k1:{base64.b64encode(bytes(32)).decode()}",
    ],
)
def test_bad_key_settings(setting: str) -> None:
    with pytest.raises(CryptoError) as err:
        Keyring.from_setting(setting)
    assert err.value.code == "invalid-key-config"


def test_current_must_exist() -> None:
    with pytest.raises(CryptoError) as err:
        Keyring({"k1": _key()}, current="k9")
    assert err.value.code == "invalid-key-config"


# --- OAuth state ------------------------------------------------------------------------------

SECRET = "state-secret-for-tests-0123456789"


def test_state_roundtrip_with_nonce() -> None:
    state = sign_state({"ws": "w1", "platform": "tiktok"}, SECRET, ttl_s=600)
    verified = verify_state(state, SECRET)
    assert verified.payload == {"ws": "w1", "platform": "tiktok"}
    assert verified.expires_at - verified.issued_at == 600
    other = verify_state(sign_state({"ws": "w1", "platform": "tiktok"}, SECRET, ttl_s=600), SECRET)
    assert other.nonce != verified.nonce  # each flow gets its own single-use nonce
    assert all(c.isalnum() or c in "-_." for c in state)  # URL-safe as is


def test_state_forged_payload_rejected() -> None:
    state = sign_state({"ws": "w1"}, SECRET, ttl_s=600)
    body, mac = state.split(".")
    forged_body = (
        base64.urlsafe_b64encode(
            base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)).replace(b'"w1"', b'"w2"')
        )
        .decode()
        .rstrip("=")
    )
    with pytest.raises(CryptoError) as err:
        verify_state(f"{forged_body}.{mac}", SECRET)
    assert err.value.code == "state-invalid"


def test_state_other_secret_rejected() -> None:
    state = sign_state({"ws": "w1"}, SECRET, ttl_s=600)
    with pytest.raises(CryptoError) as err:
        verify_state(state, "another-secret-of-enough-length")
    assert err.value.code == "state-invalid"


def test_state_expired() -> None:
    state = sign_state({"ws": "w1"}, SECRET, ttl_s=60, now=1_000_000.0)
    assert verify_state(state, SECRET, now=1_000_059.0).payload == {"ws": "w1"}
    with pytest.raises(CryptoError) as err:
        verify_state(state, SECRET, now=1_000_060.0)
    assert err.value.code == "state-expired"


@pytest.mark.parametrize("state", ["", "abc", "a.b.c", "!!!.???", "e30.AAAA"])
def test_state_malformed(state: str) -> None:
    with pytest.raises(CryptoError) as err:
        verify_state(state, SECRET)
    assert err.value.code == "state-invalid"


def test_state_secret_rotation_accepts_old_secret() -> None:
    state = sign_state({"ws": "w1"}, "old-secret-long-enough-0000", ttl_s=600)
    verified = verify_state(state, ["new-secret-long-enough-1111", "old-secret-long-enough-0000"])
    assert verified.payload == {"ws": "w1"}


def test_state_short_secret_refused() -> None:
    with pytest.raises(CryptoError) as err:
        sign_state({}, "short", ttl_s=60)
    assert err.value.code == "invalid-key-config"
