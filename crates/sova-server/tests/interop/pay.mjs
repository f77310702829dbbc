// The official x402 TypeScript client (@x402/fetch + @x402/svm 2.27) pays a running Sova.
// Usage: node pay.mjs SOVA_BASE_URL ADDRESS  -> prints one JSON line {status, body, paymentResponse}
// The client needs one RPC method (getAccountInfo of the mint) because Sova offers extra.recentBlockhash; a local
// mock answers it (82-byte mint data, 6 decimals, owner the Token program).
import http from "node:http";
import { wrapFetchWithPayment, x402Client, decodePaymentResponseHeader } from "@x402/fetch";
import { ExactSvmScheme } from "@x402/svm/exact/client";
import { createKeyPairSignerFromPrivateKeyBytes } from "@solana/kit";

const [base, address] = process.argv.slice(2);
const mint = Buffer.alloc(82);
mint[44] = 6;
mint[45] = 1;
const rpc = http.createServer((req, res) => {
  let body = "";
  req.on("data", (c) => (body += c));
  req.on("end", () => {
    const r = JSON.parse(body);
    res.setHeader("content-type", "application/json");
    if (r.method !== "getAccountInfo") {
      res.end(JSON.stringify({ jsonrpc: "2.0", id: r.id, error: { code: -32601, message: r.method } }));
      return;
    }
    res.end(JSON.stringify({ jsonrpc: "2.0", id: r.id, result: { context: { slot: 1 }, value: {
      data: [mint.toString("base64"), "base64"], executable: false, lamports: 1461600,
      owner: "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", rentEpoch: 0, space: 82 } } }));
  });
});
await new Promise((r) => rpc.listen(0, "127.0.0.1", r));
const rpcUrl = `http://127.0.0.1:${rpc.address().port}`;

const signer = await createKeyPairSignerFromPrivateKeyBytes(new Uint8Array(32).fill(42));
const client = new x402Client();
client.register("solana:*", new ExactSvmScheme(signer, { rpcUrl }));
const pay = wrapFetchWithPayment(fetch, client);
const res = await pay(`${base}/api/v1/intel/wallet/${address}/hud`);
const header = res.headers.get("payment-response");
const out = {
  status: res.status,
  body: await res.json(),
  payer: signer.address,
  paymentResponse: header ? decodePaymentResponseHeader(header) : null,
};
console.log(JSON.stringify(out));
rpc.close();
