//! Address validation and chain detection.

use bitcoin::address::{AddressType, NetworkUnchecked};

use crate::error::ChainError;
use crate::network::{Chain, Network};

/// Validates `address` for `network`, checksums included. The string must be exactly
/// the address (no surrounding whitespace).
///
/// * Bitcoin: bech32/bech32m P2WPKH, P2WSH, P2TR (`bc1…` / `tb1…`) and base58check
///   P2PKH / P2SH (`1…`, `3…` / `m…`, `n…`, `2…`) with the network's prefix.
/// * EVM: `0x` + 40 hex digits; a mixed-case address must carry a valid EIP-55
///   checksum (all-lower and all-upper hex are accepted as unchecksummed).
/// * Solana: base58 that decodes to exactly 32 bytes (off-curve program-derived
///   addresses are valid, so the curve is not checked).
pub fn validate_address(network: Network, address: &str) -> Result<(), ChainError> {
    let invalid = |reason: &str| ChainError::invalid_address(network, reason);
    if address.is_empty() {
        return Err(invalid("empty address"));
    }
    if address.trim() != address {
        return Err(invalid("leading or trailing whitespace"));
    }
    match network.chain() {
        Chain::Bitcoin => validate_bitcoin(network, address),
        Chain::Evm => validate_evm(network, address),
        Chain::Solana => validate_solana(network, address),
    }
}

fn validate_bitcoin(network: Network, address: &str) -> Result<(), ChainError> {
    // The bitcoin crate reports any bech32 failure as a base58 error; decode
    // segwit-looking strings first to give a precise reason.
    let lower = address.to_ascii_lowercase();
    if ["bc1", "tb1", "bcrt1"].iter().any(|p| lower.starts_with(p)) {
        bech32::segwit::decode(address).map_err(|e| {
            ChainError::invalid_address(network, format!("invalid bech32 address: {}", error_chain(&e)))
        })?;
    }
    let parsed: bitcoin::Address<NetworkUnchecked> = address
        .parse()
        .map_err(|e: bitcoin::address::ParseError| ChainError::invalid_address(network, error_chain(&e)))?;
    if !parsed.is_valid_for_network(bitcoin_network(network)) {
        return Err(ChainError::invalid_address(network, "address belongs to a different Bitcoin network"));
    }
    let checked = parsed.assume_checked();
    match checked.address_type() {
        Some(AddressType::P2pkh | AddressType::P2sh | AddressType::P2wpkh | AddressType::P2wsh | AddressType::P2tr) => {
            Ok(())
        }
        _ => Err(ChainError::invalid_address(
            network,
            "unsupported address type (expected P2PKH, P2SH, P2WPKH, P2WSH or P2TR)",
        )),
    }
}

/// `error: source: source…`
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

fn validate_evm(network: Network, address: &str) -> Result<(), ChainError> {
    let invalid = |reason: &str| ChainError::invalid_address(network, reason);
    let body = address.strip_prefix("0x").ok_or_else(|| invalid("must start with 0x"))?;
    if body.len() != 40 {
        return Err(invalid("must be 0x followed by 40 hex digits"));
    }
    let mut bytes = [0u8; 20];
    hex::decode_to_slice(body, &mut bytes).map_err(|_| invalid("contains non-hex characters"))?;
    let has_lower = body.bytes().any(|b| b.is_ascii_lowercase());
    let has_upper = body.bytes().any(|b| b.is_ascii_uppercase());
    if has_lower && has_upper && eip55_checksum(&bytes)[2..] != *body {
        return Err(invalid("invalid EIP-55 checksum (mixed-case address)"));
    }
    Ok(())
}

fn validate_solana(network: Network, address: &str) -> Result<(), ChainError> {
    let invalid = |reason: String| ChainError::invalid_address(network, reason);
    // 32 bytes encode to at most 44 base58 characters; reject longer input early.
    if address.len() > 44 {
        return Err(invalid("too long for a 32-byte base58 public key".to_owned()));
    }
    let bytes = bs58::decode(address).into_vec().map_err(|e| invalid(format!("invalid base58: {e}")))?;
    if bytes.len() != 32 {
        return Err(invalid(format!("decodes to {} bytes, expected 32", bytes.len())));
    }
    Ok(())
}

/// Detects the chain family from the address format alone: `Some` if the address
/// is valid (see [`validate_address`]) on at least one network of that family.
/// Surrounding whitespace is ignored.
pub fn detect_chain(address: &str) -> Option<Chain> {
    address_networks(address.trim()).first().map(Network::chain)
}

/// Every network on which `address` is valid (exactly the networks [`validate_address`] accepts it for), decoding
/// the string once rather than once per network: the answer to "what is this address?" on a hot path. Empty when
/// it is valid nowhere.
pub fn address_networks(address: &str) -> Vec<Network> {
    let of = |chain: Chain| Network::all().iter().copied().filter(|n| n.chain() == chain).collect();
    if address.is_empty() || address.trim() != address {
        return Vec::new();
    }
    if address.starts_with("0x") {
        return if validate_evm(Network::Ethereum, address).is_ok() { of(Chain::Evm) } else { Vec::new() };
    }
    if let Ok(parsed) = address.parse::<bitcoin::Address<NetworkUnchecked>>() {
        let supported = matches!(
            parsed.assume_checked_ref().address_type(),
            Some(AddressType::P2pkh | AddressType::P2sh | AddressType::P2wpkh | AddressType::P2wsh | AddressType::P2tr)
        );
        return Network::all()
            .iter()
            .copied()
            .filter(|n| n.chain() == Chain::Bitcoin && supported && parsed.is_valid_for_network(bitcoin_network(*n)))
            .collect();
    }
    if validate_solana(Network::Solana, address).is_ok() { of(Chain::Solana) } else { Vec::new() }
}

/// The `bitcoin` crate's network an address of `network` must be valid for.
fn bitcoin_network(network: Network) -> bitcoin::Network {
    if network == Network::Bitcoin { bitcoin::Network::Bitcoin } else { bitcoin::Network::Testnet }
}

/// EIP-55 mixed-case checksum encoding (`0x…`) of a 20-byte EVM address.
pub fn eip55_checksum(addr20: &[u8; 20]) -> String {
    alloy_primitives::Address::from(*addr20).to_checksum(None)
}
