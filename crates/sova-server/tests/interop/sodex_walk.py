"""A spot walk with the exchange vendor's own Python SDK (sodex-python-sdk, unchanged), as a user of that SDK
writes it: market data, account state, balances, an API key added and used, orders placed, filled between two
masters, replaced, cancelled, history, trades, a transfer, the dead-man switch, WebSocket subscriptions with acks
and pushes.

Usage: python3 sodex_walk.py <base url>. The SDK is imported from SODEX_SDK_DIR, else from
`shared/clients/sodex-python-sdk` beside the repository (or beside one of its parents). Funding uses the sandbox faucet (the SDK funds through
chains Sova's exchange does not reach). Prints one JSON line per call and a summary line
`{"calls": n, "failed": [..]}`; exits 1 if any call failed.
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
    """`shared/` beside the repository (CI: /work/<clone> and /work/shared), or beside one of its parents."""
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
from sodex.client.types import HistoryFilter, RevokeAPIKeyRequest  # noqa: E402
from sodex.common.enums import OrderSide, TimeInForce, TransferAssetType  # noqa: E402
from sodex.common.types import ReplaceOrderRequest, ReplaceParams, ScheduleCancelRequest, TransferAssetRequest  # noqa: E402
from sodex.ws import CHANNEL_L2_BOOK, CHANNEL_TICKER, CHANNEL_TRADE, SubscribeParams  # noqa: E402
from sodex.ws import Client as WsClient  # noqa: E402

BASE = sys.argv[1].rstrip("/")
SYMBOL = "BTC_USDC"
ALICE_KEY = "0x" + "a1" * 32
BOB_KEY = "0x" + "b2" * 32

results = []


def call(name, fn):
    """Run one SDK call; record whether it worked (and why not)."""
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


def wait_for(events, pred, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with events["lock"]:
            for e in events["items"]:
                if pred(e):
                    return e
        time.sleep(0.05)
    raise AssertionError(f"no {what} within {timeout} s; got {events['items'][-5:]}")


public = Client(Config(base_url=BASE))
alice = Client(Config(base_url=BASE, private_key=ALICE_KEY))
bob = Client(Config(base_url=BASE, private_key=BOB_KEY))
faucet(alice.address, "USDC", "10000")
faucet(bob.address, "BTC", "1")

# Market data
symbols = call("spot_symbols", lambda: public.spot_symbols())
btc = next((s for s in symbols or [] if s.symbol == SYMBOL), None)
call("symbol fields", lambda: check(
    btc is not None and btc.symbol_id == 1 and btc.display_name == "BTC/USDC" and btc.step_size == "0.0001"
    and btc.tick_size == "0.01" and btc.min_quantity and btc.max_price, f"{btc}"))
call("spot_symbols(display name)", lambda: check(
    [s.symbol for s in public.spot_symbols("BTC/USDC")] == [SYMBOL], "filtered by display name"))
call("spot_coins", lambda: check(
    any(c.coin == "USDC" and c.precision == 6 and c.coin_id == 1 for c in public.spot_coins()), "USDC listed"))
call("spot_tickers", lambda: check(any(t.symbol == SYMBOL for t in public.spot_tickers()), "a ticker"))
call("spot_order_book", lambda: check(public.spot_order_book(SYMBOL, depth=5).update_id >= 0, "a book"))
call("spot_klines", lambda: check(public.spot_klines(SYMBOL, "1m") == [], "no candles yet"))
call("spot_klines(1D)", lambda: public.spot_klines(SYMBOL, "1D", HistoryFilter(start_time=0, limit=10)))
call("spot_public_trades", lambda: check(public.spot_public_trades(SYMBOL, 10) == [], "no trades yet"))

# Account state
status = call("get_user_status", lambda: alice.get_user_status())
call("status fields", lambda: check(status.status == "Active" and status.user_id > 0, f"{status}"))
call("get_user_status(unknown)", lambda: check(
    public.get_user_status("0x" + "00" * 19 + "01").status == "UserNotFound", "unknown wallet"))
aid = call("primary_account_id", lambda: alice.primary_account_id())
bob_aid = call("primary_account_id(bob)", lambda: bob.primary_account_id())
info = call("spot_account_info", lambda: alice.spot_account_info(alice.address))
call("account info fields", lambda: check(
    info.account_id == aid and info.user_id == aid and info.address.lower() == alice.address.lower(), f"{info}"))
call("spot_account_state", lambda: check(alice.spot_account_state()["aid"] == aid, "aid"))
call("spot_balances", lambda: check(
    any(b.coin == "USDC" and b.total == "10000" and b.locked == "0" for b in alice.spot_balances(alice.address)),
    "10000 USDC"))
fee = call("get_fee_rate", lambda: alice.get_fee_rate("spot", symbol=SYMBOL))
call("fee rate fields", lambda: check(fee.maker_fee_rate == "0.0001" and fee.taker_fee_rate == "0.0004", f"{fee}"))
call("get_api_keys(empty)", lambda: check(alice.get_api_keys().spot == [], "no keys yet"))

# An API key added by the master, then used to trade for it
generated, agent = call("approve_agent", lambda: alice.approve_agent("bot")) or (None, None)
keys = call("get_api_keys", lambda: alice.get_api_keys(name="bot"))
call("api key fields", lambda: check(
    [k.name for k in keys.spot] == ["bot"] and keys.spot[0].type == "PRIMARY"
    and keys.spot[0].public_key.lower() == generated.address.lower() and len(keys.perps) == 1, f"{keys}"))

# WebSocket: acks echo the id, pushes carry `s`
market_events = {"lock": threading.Lock(), "items": []}
account_events = {"lock": threading.Lock(), "items": []}


def on_market(push):
    with market_events["lock"]:
        market_events["items"].append({"channel": push.channel, "type": push.type, "data": push.data})


def on_order(update):
    with account_events["lock"]:
        account_events["items"].append(update)


ws = WsClient.from_base_url(BASE, "spot")
ws.connect()
trade_sub = call("ws subscribe trade", lambda: ws.subscribe(SubscribeParams(channel=CHANNEL_TRADE, symbol=SYMBOL),
                                                            on_market))
call("ws ack trade", lambda: ws.wait_ready(trade_sub, 10))
book_sub = call("ws subscribe l2Book", lambda: ws.subscribe(SubscribeParams(channel=CHANNEL_L2_BOOK, symbol=SYMBOL),
                                                            on_market))
call("ws ack l2Book", lambda: ws.wait_ready(book_sub, 10))
ticker_sub = call("ws subscribe ticker", lambda: ws.subscribe(
    SubscribeParams(channel=CHANNEL_TICKER, symbols=["BTC/USDC"]), on_market))
call("ws ack ticker", lambda: ws.wait_ready(ticker_sub, 10))
ws_account = WsClient.from_base_url(BASE, "spot")
ws_account.connect()
account_sub = call("ws subscribe_account", lambda: ws_account.subscribe_account(alice.address, on_order_update=on_order))
call("ws ack account", lambda: account_sub.wait_ready(10))

# Orders: the agent key and the master place bids, bob's sell fills the first
t0 = int(time.time() * 1000) - 1000
r = call("spot_order(agent key)", lambda: agent.spot_order(
    SYMBOL, True, Decimal("0.01"), limit_price=Decimal("50000"), cl_ord_id="a-bid-1"))
call("receipt fields", lambda: check(r.order_id > 0 and r.cl_ord_id == "a-bid-1" and r.status == "NEW", f"{r}"))
r2 = call("place_spot_limit_order", lambda: alice.place_spot_limit_order(
    aid, 1, "a-bid-2", OrderSide.BUY, TimeInForce.GTC, Decimal("49000"), Decimal("0.01")))
call("batch receipt fields", lambda: check(len(r2) == 1 and r2[0].order_id > 0, f"{r2}"))
rej = call("place_spot_limit_order(rejected)", lambda: alice.place_spot_limit_order(
    aid, 1, "a-big", OrderSide.BUY, TimeInForce.GTC, Decimal("50000"), Decimal("100")))
call("rejected item", lambda: check(rej[0].status == "REJECTED" and rej[0].message, f"{rej}"))
opened = call("spot_orders", lambda: alice.spot_orders(alice.address, symbol=SYMBOL))
call("order fields", lambda: check(
    sorted(o.cl_ord_id for o in opened) == ["a-bid-1", "a-bid-2"]
    and all(o.orig_qty == "0.01" and o.margin_frozen == "0" and o.side == "BUY" and o.type == "LIMIT"
            and o.status == "NEW" and o.symbol == SYMBOL for o in opened), f"{opened}"))
sold = call("spot_order(bob sells)", lambda: bob.spot_order(SYMBOL, False, Decimal("0.01"),
                                                          limit_price=Decimal("50000")))
call("taker receipt", lambda: check(sold.status == "FILLED", f"{sold}"))
call("ws trade push", lambda: wait_for(market_events, lambda e: e["channel"] == "trade" and e["type"] == "update"
                                       and e["data"][0]["s"] == SYMBOL and e["data"][0]["p"] == "50000", "trade push"))
call("ws l2Book push", lambda: wait_for(market_events, lambda e: e["channel"] == "l2Book" and e["type"] == "update"
                                        and e["data"]["s"] == SYMBOL, "book push"))
call("ws ticker push", lambda: wait_for(market_events, lambda e: e["channel"] == "ticker"
                                        and e["data"]["s"] == "BTC/USDC" and e["data"]["c"] == "50000",
                                        "ticker push"))
call("ws order update push", lambda: wait_for(account_events, lambda u: u.cl_ord_id == "a-bid-1"
                                              and u.status == "FILLED" and u.symbol == SYMBOL, "order update"))

# History and trades
mine = call("spot_user_trades", lambda: alice.spot_user_trades(alice.address, HistoryFilter(start_time=t0)))
call("user trade fields", lambda: check(
    len(mine) == 1 and mine[0].cl_ord_id == "a-bid-1" and mine[0].is_maker and mine[0].side == "BUY"
    and mine[0].price == "50000" and mine[0].quantity == "0.01" and mine[0].fee_coin == "BTC", f"{mine}"))
call("spot_user_trades(endTime before)", lambda: check(
    alice.spot_user_trades(alice.address, HistoryFilter(end_time=t0)) == [], "window applied"))
theirs = call("spot_user_trades(bob)", lambda: bob.spot_user_trades(bob.address, HistoryFilter(symbol=SYMBOL)))
call("taker trade", lambda: check(len(theirs) == 1 and not theirs[0].is_maker and theirs[0].side == "SELL",
                                  f"{theirs}"))
hist = call("spot_orders_history", lambda: alice.spot_orders_history(alice.address, HistoryFilter(symbol=SYMBOL)))
call("history fields", lambda: check(
    len(hist) == 1 and hist[0].status == "FILLED" and hist[0].executed_value == "500" and hist[0].executed_qty == "0.01",
    f"{hist}"))
call("spot_public_trades(after)", lambda: check(
    [(t.side, t.price, t.symbol) for t in public.spot_public_trades(SYMBOL, 10)] == [("SELL", "50000", SYMBOL)],
    "one public trade"))
call("spot_tickers(after)", lambda: check(public.spot_tickers(SYMBOL)[0].last_price == "50000", "last price"))
call("spot_klines(after)", lambda: check(
    len(public.spot_klines(SYMBOL, "1m", HistoryFilter(start_time=t0))) == 1, "one candle"))

# Replace, cancel
rep = call("replace_spot_orders", lambda: alice.replace_spot_orders(ReplaceOrderRequest(
    aid, [ReplaceParams(1, "a-bid-3", orig_cl_ord_id="a-bid-2", price=Decimal("48000"), quantity=Decimal("0.01"))])))
call("replace receipt", lambda: check(len(rep) == 1 and rep[0].order_id > 0 and rep[0].cl_ord_id == "a-bid-3",
                                      f"{rep}"))
can = call("cancel_spot_order", lambda: alice.cancel_spot_order(SYMBOL, orig_cl_ord_id="a-bid-3"))
call("cancel receipt", lambda: check(can.status == "CANCELED", f"{can}"))
call("spot_orders(empty)", lambda: check(alice.spot_orders(alice.address) == [], "nothing open"))

# A sub-account (sandbox route) and a transfer to it
requests.post(f"{BASE}/api/v1/sandbox/sub-accounts", json={"address": alice.address, "label": "sub"}).raise_for_status()
subs = call("get_subaccounts", lambda: alice.get_subaccounts())
sub_id = subs.subaccounts[0].account_id if subs and subs.subaccounts else 0
call("subaccount fields", lambda: check(subs.primary_account_id == aid and sub_id > aid, f"{subs}"))
tr = call("spot_transfer", lambda: alice.spot_transfer(TransferAssetRequest(
    id=7, from_account_id=aid, to_account_id=sub_id, coin_id=1, amount=Decimal("100"),
    type=TransferAssetType.INTERNAL)))
call("transfer receipt", lambda: check(tr.id == 7, f"{tr}"))
call("spot_balances(sub)", lambda: check(
    any(b.coin == "USDC" and b.total == "100" for b in alice.spot_balances(alice.address, account_id=sub_id)),
    "100 USDC"))

# Dead-man switch, key revoked
call("schedule_spot_cancel", lambda: alice.schedule_spot_cancel(
    ScheduleCancelRequest(aid, int(time.time() * 1000) + 60_000)))
call("schedule_spot_cancel(clear)", lambda: alice.schedule_spot_cancel(ScheduleCancelRequest(aid)))
call("revoke_api_key", lambda: alice.revoke_api_key(alice.address, RevokeAPIKeyRequest(aid, "bot")))
call("get_api_keys(revoked)", lambda: check(alice.get_api_keys().spot == [], "no keys"))

ws.close()
ws_account.close()
failed = [r for r in results if not r["ok"]]
print(json.dumps({"calls": len(results), "failed": failed}), flush=True)
sys.exit(1 if failed else 0)
