//! Solana wire transactions, signatures, associated token addresses and base58, for verifying payments
//! (x402 "exact" on Solana) without talking to a node.
//!
//! * [`WireTransaction::decode`] takes the bytes a client sent (legacy or v0 message; v1 is refused), runs the
//!   runtime's sanity checks (`sanitize`) and keeps the exact bytes: the message bytes that the signatures cover are
//!   a slice of the input, never a re-encoding of it.
//! * [`WireTransaction::verify_signatures`] checks each required signer's ed25519 signature over the message bytes
//!   with `verify_strict` (what the Solana runtime uses), optionally leaving the fee payer's slot 0 for a sponsor.
//! * [`WireTransaction::sign`] / [`WireTransaction::set_signature`] fill a signature slot (the sponsor co-signing
//!   slot 0 as fee payer) and keep the wire bytes in step, so [`WireTransaction::as_bytes`] is ready to submit.
//! * [`associated_token_address`] derives the ATA of `(owner, token program, mint)` with `find_program_address`.
//!
//! Decoding and encoding use the maintained Solana crates (`solana-transaction`, `solana-message`,
//! `solana-signature`, `solana-hash`, `solana-address` with `curve25519`) and their `wincode` codec. Their versions
//! are pinned to the set `litesvm` 0.16 builds with (`solana-address ~2.6`, `solana-hash ~4.5`,
//! `solana-signature ~3.4`, `wincode 0.5`): newer patch releases of some of them moved to `wincode 0.6` and no longer
//! compile together with `solana-message 4.4`.

use ed25519_dalek::{Signer as _, VerifyingKey};
use std::fmt;

pub use ed25519_dalek::SigningKey;
pub use solana_address::Address as Pubkey;
pub use solana_hash::Hash;
pub use solana_message::compiled_instruction::CompiledInstruction;
pub use solana_message::v0::MessageAddressTableLookup;
pub use solana_message::{MessageHeader, VersionedMessage};
pub use solana_signature::Signature;
pub use solana_transaction::versioned::VersionedTransaction;

/// Largest serialized transaction the network accepts (IPv6 MTU minus headers).
pub const PACKET_DATA_SIZE: usize = 1232;

/// Length of an ed25519 signature on the wire.
pub const SIGNATURE_LEN: usize = 64;

/// SPL Token program.
pub const TOKEN_PROGRAM_ID: Pubkey = solana_address::address!("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
/// SPL Token-2022 program.
pub const TOKEN_2022_PROGRAM_ID: Pubkey = solana_address::address!("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb");
/// Associated Token Account program.
pub const ASSOCIATED_TOKEN_PROGRAM_ID: Pubkey =
    solana_address::address!("ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL");
/// Compute Budget program.
pub const COMPUTE_BUDGET_PROGRAM_ID: Pubkey = solana_address::address!("ComputeBudget111111111111111111111111111111");
/// SPL Memo program (v2).
pub const MEMO_PROGRAM_ID: Pubkey = solana_address::address!("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr");
/// Lighthouse (assertion instructions some wallets add to protect the user).
pub const LIGHTHOUSE_PROGRAM_ID: Pubkey = solana_address::address!("L2TExMFKdjpN9kozasaurPirfHy9P8sbXoAN1qA3S95");
/// System program.
pub const SYSTEM_PROGRAM_ID: Pubkey = solana_address::address!("11111111111111111111111111111111");

/// Why a transaction, key or signature was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SolanaTxError {
    #[error("transaction is {0} bytes, more than the {PACKET_DATA_SIZE}-byte packet limit")]
    TooLarge(usize),
    #[error("transaction could not be decoded: {0}")]
    Decode(String),
    #[error("transaction is not canonically encoded")]
    NonCanonical,
    #[error("unsupported transaction message version {0}")]
    UnsupportedVersion(u8),
    #[error("transaction failed sanity checks: {0}")]
    Sanitize(String),
    #[error("signature slot {index} does not exist ({count} required signers)")]
    NoSuchSigner { index: usize, count: usize },
    #[error("signer {index} ({signer}) has no valid signature")]
    InvalidSignature { index: usize, signer: Pubkey },
    #[error("signature slot {index} belongs to {expected}, not to the signing key {got}")]
    SignerMismatch { index: usize, expected: Pubkey, got: Pubkey },
    #[error("invalid base58: {0}")]
    Base58(String),
    #[error("base58 value decodes to {got} bytes, expected {expected}")]
    Length { got: usize, expected: usize },
}

/// Message format of a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxVersion {
    Legacy,
    V0,
}

impl fmt::Display for TxVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Legacy => "legacy",
            Self::V0 => "0",
        })
    }
}

/// A decoded transaction together with its exact wire bytes.
///
/// Invariant: `bytes` is the canonical encoding of `tx`, and `bytes[message_offset..]` are the message bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireTransaction {
    bytes: Vec<u8>,
    message_offset: usize,
    tx: VersionedTransaction,
}

impl WireTransaction {
    /// Decodes a serialized transaction (legacy or v0).
    ///
    /// Refuses: more than [`PACKET_DATA_SIZE`] bytes, trailing bytes, v1 messages, transactions that fail the
    /// runtime's sanity checks (signature count equal to the header's required signers, account indexes in
    /// range, a writable fee payer, ...), and any non-canonical encoding (the decoded transaction must re-encode
    /// to the very same bytes). Address-table lookups are decoded, not refused: see
    /// [`address_table_lookups`](Self::address_table_lookups).
    pub fn decode(bytes: &[u8]) -> Result<Self, SolanaTxError> {
        if bytes.len() > PACKET_DATA_SIZE {
            return Err(SolanaTxError::TooLarge(bytes.len()));
        }
        let tx: VersionedTransaction =
            wincode::deserialize_exact(bytes).map_err(|e| SolanaTxError::Decode(e.to_string()))?;
        if let VersionedMessage::V1(_) = tx.message {
            return Err(SolanaTxError::UnsupportedVersion(1));
        }
        tx.sanitize().map_err(|e| SolanaTxError::Sanitize(e.to_string()))?;
        let reencoded = wincode::serialize(&tx).map_err(|e| SolanaTxError::Decode(e.to_string()))?;
        if reencoded != bytes {
            return Err(SolanaTxError::NonCanonical);
        }
        let message_offset = short_vec_len(tx.signatures.len()) + SIGNATURE_LEN * tx.signatures.len();
        Ok(Self { bytes: reencoded, message_offset, tx })
    }

    /// Wraps a transaction built in process (encodes it).
    pub fn from_transaction(tx: VersionedTransaction) -> Result<Self, SolanaTxError> {
        let bytes = wincode::serialize(&tx).map_err(|e| SolanaTxError::Decode(e.to_string()))?;
        Self::decode(&bytes)
    }

    /// Message format.
    pub fn version(&self) -> TxVersion {
        match self.tx.message {
            VersionedMessage::Legacy(_) => TxVersion::Legacy,
            _ => TxVersion::V0,
        }
    }

    /// The wire bytes (with any signature set since decoding).
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// The wire bytes, owned.
    pub fn into_bytes(self) -> Vec<u8> {
        self.bytes
    }

    /// The bytes every signature covers.
    pub fn message_bytes(&self) -> &[u8] {
        &self.bytes[self.message_offset..]
    }

    /// One signature per required signer, in account order (an unsigned slot holds 64 zero bytes).
    pub fn signatures(&self) -> &[Signature] {
        &self.tx.signatures
    }

    /// Base58 of the signature in `index` (the transaction id when `index` is 0).
    pub fn signature_base58(&self, index: usize) -> Option<String> {
        self.tx.signatures.get(index).map(|s| s.to_string())
    }

    pub fn header(&self) -> &MessageHeader {
        self.tx.message.header()
    }

    /// Number of required signers (the first that many account keys).
    pub fn num_required_signatures(&self) -> usize {
        usize::from(self.header().num_required_signatures)
    }

    /// The message's static account keys; account 0 is the fee payer.
    pub fn account_keys(&self) -> &[Pubkey] {
        self.tx.message.static_account_keys()
    }

    /// The keys that must sign: `account_keys()[..num_required_signatures()]`.
    pub fn required_signers(&self) -> &[Pubkey] {
        let keys = self.account_keys();
        &keys[..self.num_required_signatures().min(keys.len())]
    }

    /// Account 0, which pays the fee.
    pub fn fee_payer(&self) -> Option<&Pubkey> {
        self.account_keys().first()
    }

    pub fn recent_blockhash(&self) -> &Hash {
        self.tx.message.recent_blockhash()
    }

    pub fn instructions(&self) -> &[CompiledInstruction] {
        self.tx.message.instructions()
    }

    /// Address-table lookups of a v0 message (always empty for legacy). Their accounts are not among
    /// [`account_keys`](Self::account_keys); a verifier that cannot resolve them should refuse the transaction.
    pub fn address_table_lookups(&self) -> &[MessageAddressTableLookup] {
        self.tx.message.address_table_lookups().unwrap_or(&[])
    }

    /// Program invoked by `ix`, when its index is a static key.
    pub fn program_id(&self, ix: &CompiledInstruction) -> Option<&Pubkey> {
        self.account_keys().get(usize::from(ix.program_id_index))
    }

    /// Static key of `ix`'s `position`-th account (`None` when absent or loaded from a lookup table).
    pub fn instruction_account(&self, ix: &CompiledInstruction, position: usize) -> Option<&Pubkey> {
        let index = *ix.accounts.get(position)?;
        self.account_keys().get(usize::from(index))
    }

    /// Whether account `index` is a required signer.
    pub fn is_signer(&self, index: usize) -> bool {
        index < self.num_required_signatures()
    }

    /// The decoded transaction.
    pub fn transaction(&self) -> &VersionedTransaction {
        &self.tx
    }

    pub fn into_transaction(self) -> VersionedTransaction {
        self.tx
    }

    /// Checks the signature in slot `index` against its signer's key over the message bytes.
    pub fn verify_signature(&self, index: usize) -> Result<(), SolanaTxError> {
        let count = self.num_required_signatures();
        let (Some(signer), Some(signature)) = (self.account_keys().get(index), self.tx.signatures.get(index)) else {
            return Err(SolanaTxError::NoSuchSigner { index, count });
        };
        if index >= count {
            return Err(SolanaTxError::NoSuchSigner { index, count });
        }
        if verify_ed25519(signer, signature, self.message_bytes()) {
            Ok(())
        } else {
            Err(SolanaTxError::InvalidSignature { index, signer: *signer })
        }
    }

    /// Checks every required signer's signature; with `skip_fee_payer` slot 0 is left out (a sponsor signs it later).
    pub fn verify_signatures(&self, skip_fee_payer: bool) -> Result<(), SolanaTxError> {
        let first = usize::from(skip_fee_payer);
        (first..self.num_required_signatures()).try_for_each(|index| self.verify_signature(index))
    }

    /// Puts `signature` in slot `index` (no check that it is valid) and updates the wire bytes.
    pub fn set_signature(&mut self, index: usize, signature: Signature) -> Result<(), SolanaTxError> {
        let count = self.tx.signatures.len();
        let Some(slot) = self.tx.signatures.get_mut(index) else {
            return Err(SolanaTxError::NoSuchSigner { index, count });
        };
        *slot = signature;
        let start = short_vec_len(count) + SIGNATURE_LEN * index;
        self.bytes[start..start + SIGNATURE_LEN].copy_from_slice(signature.as_ref());
        Ok(())
    }

    /// Signs the message with `key` into slot `index`, which must belong to `key`; returns the signature.
    pub fn sign(&mut self, index: usize, key: &SigningKey) -> Result<Signature, SolanaTxError> {
        let count = self.num_required_signatures();
        let got = pubkey_of(key);
        match self.account_keys().get(index) {
            Some(expected) if index < count && *expected != got => {
                return Err(SolanaTxError::SignerMismatch { index, expected: *expected, got });
            }
            Some(_) if index < count => {}
            _ => return Err(SolanaTxError::NoSuchSigner { index, count }),
        }
        let signature = Signature::from(key.sign(self.message_bytes()).to_bytes());
        self.set_signature(index, signature)?;
        Ok(signature)
    }

    /// Re-encodes the decoded transaction with the Solana codec (equal to [`as_bytes`](Self::as_bytes)).
    pub fn encode(&self) -> Result<Vec<u8>, SolanaTxError> {
        wincode::serialize(&self.tx).map_err(|e| SolanaTxError::Decode(e.to_string()))
    }
}

/// `verify_strict` of an ed25519 `signature` by `signer` over `message` (false for a key that is not a point).
pub fn verify_ed25519(signer: &Pubkey, signature: &Signature, message: &[u8]) -> bool {
    let Ok(key) = VerifyingKey::from_bytes(&signer.to_bytes()) else {
        return false;
    };
    let signature = ed25519_dalek::Signature::from_bytes(&signature_bytes(signature));
    key.verify_strict(message, &signature).is_ok()
}

fn signature_bytes(signature: &Signature) -> [u8; SIGNATURE_LEN] {
    let mut out = [0u8; SIGNATURE_LEN];
    out.copy_from_slice(signature.as_ref());
    out
}

/// The Solana address (public key) of an ed25519 signing key.
pub fn pubkey_of(key: &SigningKey) -> Pubkey {
    Pubkey::new_from_array(key.verifying_key().to_bytes())
}

/// `find_program_address(seeds, program_id)`: the first off-curve address with the highest bump, and the bump.
pub fn find_program_address(seeds: &[&[u8]], program_id: &Pubkey) -> (Pubkey, u8) {
    Pubkey::find_program_address(seeds, program_id)
}

/// Associated token account of `owner` for `mint` under `token_program` (Token or Token-2022):
/// `find_program_address([owner, token_program, mint], ATA program)`.
pub fn associated_token_address(owner: &Pubkey, mint: &Pubkey, token_program: &Pubkey) -> Pubkey {
    find_program_address(&[owner.as_ref(), token_program.as_ref(), mint.as_ref()], &ASSOCIATED_TOKEN_PROGRAM_ID).0
}

/// Base58 (Bitcoin alphabet) of `bytes`.
pub fn base58_encode(bytes: &[u8]) -> String {
    bs58::encode(bytes).into_string()
}

/// Decodes base58 (Bitcoin alphabet).
pub fn base58_decode(s: &str) -> Result<Vec<u8>, SolanaTxError> {
    bs58::decode(s).into_vec().map_err(|e| SolanaTxError::Base58(e.to_string()))
}

/// Decodes base58 that must be exactly `N` bytes.
pub fn base58_decode_array<const N: usize>(s: &str) -> Result<[u8; N], SolanaTxError> {
    // 32 bytes are at most 44 characters, 64 bytes at most 88: bound the work before decoding.
    if s.len() > N * 2 {
        return Err(SolanaTxError::Length { got: s.len(), expected: N });
    }
    let bytes = base58_decode(s)?;
    <[u8; N]>::try_from(bytes.as_slice()).map_err(|_| SolanaTxError::Length { got: bytes.len(), expected: N })
}

/// Parses a base58 address (32 bytes).
pub fn parse_pubkey(s: &str) -> Result<Pubkey, SolanaTxError> {
    base58_decode_array::<32>(s).map(Pubkey::new_from_array)
}

/// Parses a base58 signature (64 bytes).
pub fn parse_signature(s: &str) -> Result<Signature, SolanaTxError> {
    base58_decode_array::<SIGNATURE_LEN>(s).map(Signature::from)
}

/// Parses a base58 blockhash (32 bytes).
pub fn parse_hash(s: &str) -> Result<Hash, SolanaTxError> {
    base58_decode_array::<32>(s).map(Hash::new_from_array)
}

/// Bytes of the compact-u16 ("short vec") length prefix for `len` (`len` < 2^16).
fn short_vec_len(len: usize) -> usize {
    match len {
        0..=0x7f => 1,
        0x80..=0x3fff => 2,
        _ => 3,
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn program_ids_round_trip_base58() {
        assert_eq!(TOKEN_PROGRAM_ID.to_string(), "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA");
        assert_eq!(parse_pubkey("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr").unwrap(), MEMO_PROGRAM_ID);
        assert_eq!(SYSTEM_PROGRAM_ID, Pubkey::new_from_array([0; 32]));
    }

    #[test]
    fn base58_lengths_are_enforced() {
        assert!(matches!(parse_pubkey("1111"), Err(SolanaTxError::Length { got: 4, expected: 32 })));
        assert!(matches!(parse_pubkey("0OIl"), Err(SolanaTxError::Base58(_))));
        assert!(parse_pubkey(&"z".repeat(200)).is_err());
        let sig = [7u8; 64];
        assert_eq!(parse_signature(&base58_encode(&sig)).unwrap(), Signature::from(sig));
    }

    #[test]
    fn short_vec_lengths() {
        assert_eq!(short_vec_len(0), 1);
        assert_eq!(short_vec_len(127), 1);
        assert_eq!(short_vec_len(128), 2);
        assert_eq!(short_vec_len(0x3fff), 2);
        assert_eq!(short_vec_len(0x4000), 3);
    }
}

/// The parameters of an x402 `exact` payment, as a server's offer gives them.
#[derive(Debug, Clone)]
pub struct ExactPayment {
    /// The server's fee payer (`extra.feePayer`), left unsigned in slot 0.
    pub fee_payer: Pubkey,
    /// The treasury wallet (`payTo`); the transfer goes to its associated token account.
    pub pay_to: Pubkey,
    /// The token mint (`asset`).
    pub mint: Pubkey,
    /// Amount in base units.
    pub amount: u64,
    /// Token decimals (6 for USDC).
    pub decimals: u8,
    /// `extra.recentBlockhash`.
    pub recent_blockhash: Hash,
    /// `extra.memo`, or any unique text.
    pub memo: String,
}

/// Build the transaction an official x402 SVM client builds for an `exact` offer (sponsored flow): a v0 message with
/// the fee payer in slot 0, SetComputeUnitLimit, SetComputeUnitPrice, TransferChecked (from the payer's associated
/// token account to `pay_to`'s, under the Token program) and a Memo, signed by `payer` only. Instruction data follow
/// the programs' documented layouts (compute budget: tag 2 + u32, tag 3 + u64; TransferChecked: tag 12 + u64 amount
/// + u8 decimals); the message is compiled and serialized by the Solana crates.
pub fn build_exact_payment(payer: &SigningKey, p: &ExactPayment) -> Result<Vec<u8>, SolanaTxError> {
    use solana_instruction::{AccountMeta, Instruction};
    let authority = pubkey_of(payer);
    let source = associated_token_address(&authority, &p.mint, &TOKEN_PROGRAM_ID);
    let destination = associated_token_address(&p.pay_to, &p.mint, &TOKEN_PROGRAM_ID);
    let mut limit = vec![2u8];
    limit.extend_from_slice(&20_000u32.to_le_bytes());
    let mut price = vec![3u8];
    price.extend_from_slice(&1u64.to_le_bytes());
    let mut transfer = vec![12u8];
    transfer.extend_from_slice(&p.amount.to_le_bytes());
    transfer.push(p.decimals);
    let ixs = [
        Instruction { program_id: COMPUTE_BUDGET_PROGRAM_ID, accounts: vec![], data: limit },
        Instruction { program_id: COMPUTE_BUDGET_PROGRAM_ID, accounts: vec![], data: price },
        Instruction {
            program_id: TOKEN_PROGRAM_ID,
            accounts: vec![
                AccountMeta::new(source, false),
                AccountMeta::new_readonly(p.mint, false),
                AccountMeta::new(destination, false),
                AccountMeta::new_readonly(authority, true),
            ],
            data: transfer,
        },
        Instruction { program_id: MEMO_PROGRAM_ID, accounts: vec![], data: p.memo.as_bytes().to_vec() },
    ];
    let message = solana_message::v0::Message::try_compile(&p.fee_payer, &ixs, &[], p.recent_blockhash)
        .map_err(|e| SolanaTxError::Decode(e.to_string()))?;
    let message = VersionedMessage::V0(message);
    let n = usize::from(message.header().num_required_signatures);
    let tx = VersionedTransaction { signatures: vec![Signature::default(); n], message };
    let mut wire = WireTransaction::from_transaction(tx)?;
    let slot = wire
        .account_keys()
        .iter()
        .position(|k| *k == authority)
        .ok_or(SolanaTxError::NoSuchSigner { index: 0, count: n })?;
    wire.sign(slot, payer)?;
    Ok(wire.into_bytes())
}
