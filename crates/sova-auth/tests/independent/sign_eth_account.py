#!/usr/bin/env python3
"""Independent signer for the exchange surface, built on PyPI `eth-account` (pip install eth-account).

Prints one JSON object per line: a request as a vendor SDK would send it (domain, action, body, nonce, chain id,
X-API-Sign) and the address that signed it. `tests/exchange_independent.rs` verifies each line with sova-auth.
Nothing here shares code with the Rust implementation: the payload JSON is built with `json.dumps`, hashed with
`eth_utils.keccak`, and the EIP-712 typed data is encoded and signed by eth-account.

Exit status 3 (with a message on stderr) when eth-account is not installed.
"""

import json
import sys

try:
    from eth_account import Account
    from eth_utils import keccak
except ImportError as e:  # pragma: no cover
    print(f"eth-account is not installed ({e}); run: pip install eth-account", file=sys.stderr)
    sys.exit(3)

CHAIN_ID = int(sys.argv[1]) if len(sys.argv) > 1 else 286623
MASTER_KEY = "0x0123456789012345678901234567890123456789012345678901234567890123"
API_KEY = "0x" + "22" * 32
NONCE0 = 1760373925000

DOMAIN_TYPE = [
    {"name": "name", "type": "string"},
    {"name": "version", "type": "string"},
    {"name": "chainId", "type": "uint256"},
    {"name": "verifyingContract", "type": "address"},
]


def domain(name):
    return {
        "name": name,
        "version": "1",
        "chainId": CHAIN_ID,
        "verifyingContract": "0x0000000000000000000000000000000000000000",
    }


def wire(sig, type_byte):
    """The 66-byte X-API-Sign: type byte, r, s, v in {0, 1}."""
    v = sig.v - 27 if sig.v >= 27 else sig.v
    raw = bytes([type_byte]) + sig.r.to_bytes(32, "big") + sig.s.to_bytes(32, "big") + bytes([v])
    return "0x" + raw.hex()


def sign_action(key, domain_name, action, params, nonce):
    body = json.dumps(params, separators=(",", ":"))
    payload = json.dumps({"type": action, "params": params}, separators=(",", ":"))
    assert payload == '{"type":"%s","params":%s}' % (action, body)
    typed = {
        "types": {
            "EIP712Domain": DOMAIN_TYPE,
            "ExchangeAction": [
                {"name": "payloadHash", "type": "bytes32"},
                {"name": "nonce", "type": "uint64"},
            ],
        },
        "primaryType": "ExchangeAction",
        "domain": domain(domain_name),
        "message": {"payloadHash": keccak(text=payload), "nonce": nonce},
    }
    sig = Account.sign_typed_data(key, full_message=typed)
    type_byte = 0x02 if domain_name == "universal" else 0x01
    return {
        "domain": domain_name,
        "action": action,
        "body": body,
        "nonce": nonce,
        "chainId": CHAIN_ID,
        "sign": wire(sig, type_byte),
        "address": Account.from_key(key).address,
    }


def sign_add_api_key(key, account_id, name, public_key, expires_at, nonce):
    typed = {
        "types": {
            "EIP712Domain": DOMAIN_TYPE,
            "AddAPIKey": [
                {"name": "accountID", "type": "uint64"},
                {"name": "name", "type": "string"},
                {"name": "keyType", "type": "uint8"},
                {"name": "publicKey", "type": "bytes"},
                {"name": "expiresAt", "type": "uint64"},
                {"name": "nonce", "type": "uint64"},
            ],
        },
        "primaryType": "AddAPIKey",
        "domain": domain("universal"),
        "message": {
            "accountID": account_id,
            "name": name,
            "keyType": 1,
            "publicKey": bytes.fromhex(public_key[2:]),
            "expiresAt": expires_at,
            "nonce": nonce,
        },
    }
    sig = Account.sign_typed_data(key, full_message=typed)
    body = json.dumps(
        {"accountID": account_id, "name": name, "type": 1, "publicKey": public_key, "expiresAt": expires_at},
        separators=(",", ":"),
    )
    return {
        "domain": "universal",
        "action": "addAPIKey",
        "body": body,
        "nonce": nonce,
        "chainId": CHAIN_ID,
        "sign": wire(sig, 0x02),
        "address": Account.from_key(key).address,
    }


def main():
    api_address = Account.from_key(API_KEY).address
    out = [
        sign_add_api_key(MASTER_KEY, 1010, "api-key-01", api_address.lower(), 0, NONCE0),
        sign_add_api_key(MASTER_KEY, 1010, "bot_2", api_address, 1893456000000, NONCE0 + 1),
        sign_action(
            API_KEY,
            "spot",
            "newOrder",
            {
                "accountID": 1010,
                "symbolID": 1,
                "clOrdID": "py-1",
                "side": 1,
                "type": 1,
                "timeInForce": 4,
                "price": "64250.5",
                "quantity": "0.0015",
            },
            NONCE0 + 2,
        ),
        sign_action(
            API_KEY,
            "spot",
            "cancelOrder",
            {"accountID": 1010, "symbolID": 1, "clOrdID": "py-c1", "origClOrdID": "py-1"},
            NONCE0 + 3,
        ),
        sign_action(
            API_KEY,
            "spot",
            "batchNewOrder",
            {
                "accountID": 1010,
                "orders": [
                    {"symbolID": 1, "clOrdID": "py-2", "side": 2, "type": 1, "timeInForce": 1,
                     "price": "70000", "quantity": "0.25"},
                    {"symbolID": 2, "clOrdID": "py-3", "side": 1, "type": 2, "timeInForce": 3, "funds": "100.5"},
                ],
            },
            NONCE0 + 4,
        ),
        sign_action(
            API_KEY,
            "futures",
            "newOrder",
            {
                "accountID": 1010,
                "symbolID": 7,
                "orders": [
                    {"clOrdID": "py-p1", "modifier": 2, "side": 2, "type": 1, "timeInForce": 1, "price": "3100",
                     "quantity": "1.5", "stopPrice": "3050.25", "stopType": 1, "triggerType": 2,
                     "reduceOnly": True, "positionSide": 1},
                ],
            },
            NONCE0 + 5,
        ),
        sign_action(API_KEY, "futures", "updateMargin",
                    {"accountID": 1010, "symbolID": 7, "amount": "-12.75"}, NONCE0 + 6),
        sign_action(API_KEY, "spot", "scheduleCancel",
                    {"accountID": 1010, "scheduledTimestamp": NONCE0 + 60000}, NONCE0 + 7),
        sign_action(
            API_KEY,
            "futures",
            "transferAsset",
            {"id": 42, "fromAccountID": 1010, "toAccountID": 999, "coinID": 0, "amount": "250", "type": 0},
            NONCE0 + 8,
        ),
        sign_action(MASTER_KEY, "universal", "revokeAPIKey", {"accountID": 1010, "name": "api-key-01"}, NONCE0 + 9),
    ]
    for line in out:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
