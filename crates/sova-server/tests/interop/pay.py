"""The official x402 Python client (PyPI x402[svm,httpx] 2.25) pays a running Sova.

Usage: python3 pay.py SOVA_BASE_URL ADDRESS  -> prints one JSON line {status, body, paymentResponse}
The client needs one RPC method (getAccountInfo of the mint) because Sova offers extra.recentBlockhash; a local mock
answers it (82-byte mint data, 6 decimals, owner the Token program).
"""
import asyncio
import base64
import http.server
import json
import sys
import threading

from solders.keypair import Keypair
from x402 import x402Client
from x402.http.clients.httpx import x402HttpxClient
from x402.mechanisms.svm import KeypairSigner
from x402.mechanisms.svm.exact import ExactSvmScheme

MINT = bytearray(82)
MINT[44] = 6
MINT[45] = 1


class Rpc(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        r = json.loads(self.rfile.read(int(self.headers["content-length"])))
        if r["method"] != "getAccountInfo":
            out = {"jsonrpc": "2.0", "id": r["id"], "error": {"code": -32601, "message": r["method"]}}
        else:
            out = {"jsonrpc": "2.0", "id": r["id"], "result": {"context": {"slot": 1}, "value": {
                "data": [base64.b64encode(MINT).decode(), "base64"], "executable": False, "lamports": 1461600,
                "owner": "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "rentEpoch": 0, "space": 82}}}
        body = json.dumps(out).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


async def main(base, address):
    rpc = http.server.HTTPServer(("127.0.0.1", 0), Rpc)
    threading.Thread(target=rpc.serve_forever, daemon=True).start()
    payer = Keypair.from_seed(bytes([43] * 32))
    client = x402Client()
    client.register("solana:*", ExactSvmScheme(KeypairSigner(payer), rpc_url=f"http://127.0.0.1:{rpc.server_address[1]}"))
    async with x402HttpxClient(client) as http_client:
        r = await http_client.get(f"{base}/api/v1/intel/wallet/{address}/hud")
        settle = r.headers.get("payment-response")
        print(json.dumps({
            "status": r.status_code,
            "body": r.json(),
            "payer": str(payer.pubkey()),
            "paymentResponse": json.loads(base64.b64decode(settle)) if settle else None,
        }))
    rpc.shutdown()


asyncio.run(main(sys.argv[1], sys.argv[2]))
