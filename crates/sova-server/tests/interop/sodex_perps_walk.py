"""A perps walk with the exchange vendor's own Python SDK (sodex-python-sdk, unchanged), as a user of that SDK
writes it: spot USDC moved into perps (type PERPS_WITHDRAW to the treasury 999), leverage set, a limit order
rested by one master and taken by another's market order, positions, funding settled by Sova's sandbox route and
read back, a cancel, and the transfer back to spot (type SPOT_WITHDRAW to 999); the SDK's WebSocket client on
/ws/perps sees the mark price and Alice's order updates and fills.

Usage: python3 sodex_perps_walk.py <base url>. The SDK is found as in sodex_walk.py. Prints one JSON line per call
and a summary line `{"calls": n, "failed": [..]}`; exits 1 if any call failed.
"""

import json
import os
import sys
import threading
import time
import traceback
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.abspath(os.path.join(HERE, "..", "..", "..", ".."))


def find_sdk():
    d = REPO
    while True:
        parent = os.path.dirname(d)
        candidate = os.path.join(parent, "shared", "clients", "sodex-python-sdk")
        if os.path.isdir(candidate) or parent == d:
            return candidate
        d = parent


SDK = os.environ.get("SODEX_SDK_DIR") or find_sdk()
sys.path.insert(0, os.path.abspath(SDK))

import requests  # noqa: E402
from sodex.client import Client, Config  # noqa: E402
from sodex.common.enums import (  # noqa: E402
    MarginMode, OrderModifier, OrderSide, OrderType, PositionSide, TimeInForce, TransferAssetType,
)
from sodex.common.types import TransferAssetRequest  # noqa: E402
from sodex.perps.types import CancelOrder, CancelOrderRequest, NewOrderRequest, RawOrder  # noqa: E402
from sodex.perps.types import UpdateLeverageRequest  # noqa: E402
from sodex.ws import CHANNEL_MARK_PRICE, SubscribeParams  # noqa: E402
from sodex.ws import Client as WsClient  # noqa: E402
from sodex.ws.types import MarkPrice  # noqa: E402

BASE = sys.argv[1].rstrip("/")
SYMBOL = "BTC-USD"
ALICE_KEY = "0x" + "c1" * 32
BOB_KEY = "0x" + "c2" * 32
TREASURY = 999

results = []


def call(name, fn):
    try:
        value = fn()
        results.append({"call": name, "ok": True})
        print(json.dumps({"call": name, "ok": True}), flush=True)
        return value
    except Exception as e:  # noqa: BLE001 - every failure is reported, the walk goes on
        detail = f"{type(e).__name__}: {e}"
        results.append({"call": name, "ok": False, "error": detail})
        print(json.dumps({"call": name, "ok": False, "error": detail}), flush=True)
        traceback.print_exc(file=sys.stderr)
        return None


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def faucet(address, coin, amount):
    r = requests.post(f"{BASE}/api/v1/sandbox/faucet", json={"address": address, "coin": coin, "amount": amount})
    r.raise_for_status()
    return r.json()["data"]["accountID"]


def sandbox(path, body):
    r = requests.post(f"{BASE}/api/v1/sandbox/{path}", json=body)
    r.raise_for_status()
    return r.json()["data"]


public = Client(Config(base_url=BASE))
alice = Client(Config(base_url=BASE, private_key=ALICE_KEY))
bob = Client(Config(base_url=BASE, private_key=BOB_KEY))
aid = faucet(alice.address, "USDC", "20000")
bid = faucet(bob.address, "USDC", "20000")

# Market data
symbols = call("perps_symbols", lambda: public.perps_symbols())
call("perps symbol fields", lambda: check(
    any(s.symbol == SYMBOL and s.symbol_id == 1 for s in symbols or []), f"{symbols}"))
call("perps_tickers", lambda: check(any(t.symbol == SYMBOL for t in public.perps_tickers()), "a ticker"))
call("perps_order_book", lambda: public.perps_order_book(SYMBOL, depth=5))

# Spot -> perps through the treasury
for who, acct, tid in ((alice, aid, 1), (bob, bid, 2)):
    tr = call("spot_transfer(to perps)", lambda: who.spot_transfer(TransferAssetRequest(
        id=tid, from_account_id=acct, to_account_id=TREASURY, coin_id=1, amount=Decimal("10000"),
        type=TransferAssetType.PERPS_WITHDRAW)))
    call("transfer receipt", lambda: check(tr is not None and tr.id == tid, f"{tr}"))
call("perps_balances", lambda: check(
    any(b.total == "10000" for b in alice.perps_balances(alice.address)), "10000 USDC in perps"))

# Leverage
lev = call("update_leverage", lambda: alice.update_leverage(UpdateLeverageRequest(aid, 1, 5, MarginMode.CROSS)))
call("leverage result", lambda: check(
    lev.symbol == SYMBOL and lev.leverage == 5 and lev.margin_mode == "CROSS", f"{lev}"))


def order(cl, side, otype, price, qty):
    tif = TimeInForce.IOC if otype == OrderType.MARKET else TimeInForce.GTC
    return RawOrder(cl_ord_id=cl, modifier=OrderModifier.NORMAL, side=side, type=otype, time_in_force=tif,
                    price=price, quantity=qty, reduce_only=False, position_side=PositionSide.BOTH)


# The SDK's perps WebSocket client: mark prices, and Alice's orders and fills
events = {"lock": threading.Lock(), "items": []}


def note(kind):
    def handler(x):
        with events["lock"]:
            events["items"].append((kind, x))
    return handler


def wait_for(kind, pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with events["lock"]:
            for k, x in events["items"]:
                if k == kind and pred(x):
                    return x
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout} s")


ws = WsClient.from_base_url(BASE, "perps")
ws.connect()
mark_sub = call("ws subscribe markPrice", lambda: ws.subscribe(
    SubscribeParams(channel=CHANNEL_MARK_PRICE, symbol=SYMBOL), lambda p: note("mark")(MarkPrice.from_dict(p.data))))
call("ws ack markPrice", lambda: ws.wait_ready(mark_sub, 10))
ws_account = WsClient.from_base_url(BASE, "perps")
ws_account.connect()
account_sub = call("ws subscribe_account", lambda: ws_account.subscribe_account(
    alice.address, on_order_update=note("order"), on_trade=note("fill")))
call("ws ack account", lambda: account_sub.wait_ready(10))
call("ws markPrice snapshot", lambda: wait_for("mark", lambda m: m.symbol == SYMBOL and m.next_funding_time > 0,
                                               "mark price"))

# Bob rests a sell, Alice takes it with a market order and a limit order
rest = call("place_perps_order(limit)", lambda: bob.place_perps_order(NewOrderRequest(
    bid, 1, [order("s1", OrderSide.SELL, OrderType.LIMIT, Decimal("30000"), Decimal("0.3"))])))
call("limit receipt", lambda: check(rest and rest[0].order_id > 0 and rest[0].status == "NEW", f"{rest}"))
mkt = call("place_perps_order(market)", lambda: alice.place_perps_order(NewOrderRequest(
    aid, 1, [order("b1", OrderSide.BUY, OrderType.MARKET, None, Decimal("0.1"))])))
call("market receipt", lambda: check(mkt and mkt[0].status == "FILLED", f"{mkt}"))
lim = call("place_perps_order(limit buy)", lambda: alice.place_perps_order(NewOrderRequest(
    aid, 1, [order("b2", OrderSide.BUY, OrderType.LIMIT, Decimal("30000"), Decimal("0.1"))])))
call("limit buy receipt", lambda: check(lim and lim[0].status == "FILLED", f"{lim}"))
call("ws order update push", lambda: wait_for("order", lambda u: u.cl_ord_id == "b1" and u.status == "FILLED"
                                              and u.symbol == SYMBOL and u.position_side == "BOTH"
                                              and u.reduce_only is False, "order update"))
call("ws fill push", lambda: wait_for("fill", lambda f: f.symbol == SYMBOL and f.direction == "LONG"
                                      and f.side == "BUY" and f.price == "30000", "fill"))

# Positions
pos = call("perps_positions", lambda: alice.perps_positions(alice.address))
call("position fields", lambda: check(
    pos and pos[0].symbol == SYMBOL and Decimal(pos[0].size) == Decimal("0.2")
    and Decimal(pos[0].avg_entry_price) == Decimal("30000") and pos[0].leverage == 5 and pos[0].active, f"{pos}"))

# Funding settled now (sandbox), read back
sandbox("index-price", {"symbol": SYMBOL, "price": "30000"})
sandbox("funding", {"symbol": SYMBOL})
fundings = call("perps_funding_history", lambda: alice.perps_funding_history(alice.address))
call("funding fields", lambda: check(
    fundings and fundings[0].symbol == SYMBOL and Decimal(fundings[0].funding_fee) > 0, f"{fundings}"))

# Bob cancels the rest of his order
cancel = call("cancel_perps_orders", lambda: bob.cancel_perps_orders(CancelOrderRequest(
    bid, [CancelOrder(symbol_id=1, order_id=rest[0].order_id)])))
call("cancel receipt", lambda: check(cancel and cancel[0].status == "CANCELED", f"{cancel}"))
call("perps_orders(empty)", lambda: check(bob.perps_orders(bob.address) == [], "nothing open"))

# Perps -> spot
back = call("perps_transfer(to spot)", lambda: alice.perps_transfer(TransferAssetRequest(
    id=3, from_account_id=aid, to_account_id=TREASURY, coin_id=1, amount=Decimal("1000"),
    type=TransferAssetType.SPOT_WITHDRAW)))
call("transfer back receipt", lambda: check(back is not None and back.id == 3, f"{back}"))
call("spot_balances(after)", lambda: check(
    any(b.coin == "USDC" and b.total == "11000" for b in alice.spot_balances(alice.address)), "11000 USDC on spot"))

ws.close()
ws_account.close()

failed = [r for r in results if not r["ok"]]
print(json.dumps({"calls": len(results), "failed": failed}), flush=True)
sys.exit(1 if failed else 0)
