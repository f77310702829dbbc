//! The EIP-712 domains and typed structs of the exchange surface.
//!
//! Domain: `EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)` with
//! `name` one of `spot`, `futures`, `universal`, `version = "1"`, the deployment's chain id and the zero address as
//! `verifyingContract` (no salt). The typed structs are declared with alloy's `sol!`, so their type strings and
//! struct hashes come from alloy; the digest is `keccak256(0x19 0x01 ‖ domainSeparator ‖ hashStruct(message))`
//! with the three separators computed once per [`Domains`].

use alloy_primitives::{Address, B256, Bytes, Keccak256, U256};
use alloy_sol_types::{Eip712Domain, SolStruct, sol};
use serde::{Deserialize, Serialize};

sol! {
    /// `ExchangeAction(bytes32 payloadHash,uint64 nonce)`: every signed action except `addAPIKey`.
    #[derive(Debug, PartialEq, Eq)]
    struct ExchangeAction {
        bytes32 payloadHash;
        uint64 nonce;
    }

    /// `AddAPIKey(uint64 accountID,string name,uint8 keyType,bytes publicKey,uint64 expiresAt,uint64 nonce)`:
    /// registering an API key (universal domain, signed by the master wallet).
    #[derive(Debug, PartialEq, Eq)]
    struct AddAPIKey {
        uint64 accountID;
        string name;
        uint8 keyType;
        bytes publicKey;
        uint64 expiresAt;
        uint64 nonce;
    }
}

/// Chain id of the vendor's mainnet.
pub const MAINNET_CHAIN_ID: u64 = 286_623;
/// Chain id of the vendor's testnet.
pub const TESTNET_CHAIN_ID: u64 = 138_565;
/// `version` of every domain (the seed document omits it; every SDK and vector uses `"1"`).
pub const DOMAIN_VERSION: &str = "1";

/// The three EIP-712 domains.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Domain {
    /// `spot`: the spot engine (`/api/v1/spot`).
    Spot,
    /// `futures`: the perps engine (`/api/v1/perps`).
    Futures,
    /// `universal`: account-level actions (`/api/v1/user/{masterAddress}/...`), i.e. the API-key registry.
    Universal,
}

impl Domain {
    /// All three, in a fixed order.
    pub const ALL: [Domain; 3] = [Domain::Spot, Domain::Futures, Domain::Universal];

    /// The domain's `name` field.
    pub const fn name(self) -> &'static str {
        match self {
            Domain::Spot => "spot",
            Domain::Futures => "futures",
            Domain::Universal => "universal",
        }
    }

    /// The type byte a signature made in this domain must start with.
    pub const fn signature_type(self) -> SignatureType {
        match self {
            Domain::Spot | Domain::Futures => SignatureType::Engine,
            Domain::Universal => SignatureType::Universal,
        }
    }

    /// From the `name` field.
    pub fn from_name(name: &str) -> Option<Domain> {
        Domain::ALL.into_iter().find(|d| d.name() == name)
    }

    /// alloy's description of the domain for `chain_id`.
    pub fn eip712_domain(self, chain_id: u64) -> Eip712Domain {
        Eip712Domain::new(
            Some(self.name().into()),
            Some(DOMAIN_VERSION.into()),
            Some(U256::from(chain_id)),
            Some(Address::ZERO),
            None,
        )
    }

    const fn index(self) -> usize {
        match self {
            Domain::Spot => 0,
            Domain::Futures => 1,
            Domain::Universal => 2,
        }
    }
}

impl std::fmt::Display for Domain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The first byte of `X-API-Sign`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum SignatureType {
    /// `0x01`: EIP-712 under an engine domain (`spot` or `futures`).
    Engine = 0x01,
    /// `0x02`: EIP-712 under the `universal` domain.
    Universal = 0x02,
}

impl SignatureType {
    /// The wire byte.
    pub const fn byte(self) -> u8 {
        self as u8
    }

    /// From the wire byte; anything but `0x01` and `0x02` is `None`.
    pub const fn from_byte(b: u8) -> Option<SignatureType> {
        match b {
            0x01 => Some(SignatureType::Engine),
            0x02 => Some(SignatureType::Universal),
            _ => None,
        }
    }
}

/// The domain separators of one deployment (one chain id), computed once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Domains {
    chain_id: u64,
    separators: [B256; 3],
}

impl Domains {
    /// The three domains for `chain_id` (286623 mainnet, 138565 testnet).
    pub fn new(chain_id: u64) -> Domains {
        let separators = Domain::ALL.map(|d| d.eip712_domain(chain_id).separator());
        Domains { chain_id, separators }
    }

    /// The chain id the domains were built for.
    pub const fn chain_id(&self) -> u64 {
        self.chain_id
    }

    /// `hashStruct(EIP712Domain)` of `domain`.
    pub const fn separator(&self, domain: Domain) -> B256 {
        self.separators[domain.index()]
    }

    /// `keccak256(0x19 0x01 ‖ separator ‖ struct_hash)`.
    pub fn digest(&self, domain: Domain, struct_hash: &B256) -> B256 {
        let mut h = Keccak256::new();
        h.update([0x19, 0x01]);
        h.update(self.separator(domain));
        h.update(struct_hash);
        h.finalize()
    }

    /// The digest an `ExchangeAction{payloadHash, nonce}` signature signs.
    pub fn exchange_action_digest(&self, domain: Domain, payload_hash: B256, nonce: u64) -> B256 {
        self.digest(domain, &ExchangeAction { payloadHash: payload_hash, nonce }.eip712_hash_struct())
    }

    /// The digest an `AddAPIKey` signature signs (always the universal domain).
    pub fn add_api_key_digest(&self, message: &AddAPIKey) -> B256 {
        self.digest(Domain::Universal, &message.eip712_hash_struct())
    }
}

impl AddAPIKey {
    /// The typed message for an EVM API key (`keyType` 1, `publicKey` the 20 address bytes).
    pub fn evm(account_id: u64, name: &str, public_key: Address, expires_at: u64, nonce: u64) -> AddAPIKey {
        AddAPIKey {
            accountID: account_id,
            name: name.to_owned(),
            keyType: 1,
            publicKey: Bytes::copy_from_slice(public_key.as_slice()),
            expiresAt: expires_at,
            nonce,
        }
    }
}
