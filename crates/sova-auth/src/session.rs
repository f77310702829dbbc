//! Operator session tokens: JWT (HS256) with `sub` (account id), `sid` (session id, for revocation), `iat`, `exp`.

use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Claims of a session token.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct SessionClaims {
    /// Operator account id.
    pub sub: String,
    /// Session id.
    pub sid: String,
    /// Issued at (Unix seconds).
    pub iat: i64,
    /// Expiry (Unix seconds).
    pub exp: i64,
    /// Issuer, always `sova`.
    pub iss: String,
}

/// Why a session token was refused.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum SessionError {
    /// The token is past its `exp`.
    #[error("session token has expired; log in again")]
    Expired,
    /// Not a token this server issued.
    #[error("session token is not valid")]
    Invalid,
}

/// Signs and verifies session tokens with a server key.
pub struct SessionKeys {
    enc: EncodingKey,
    dec: DecodingKey,
}

impl std::fmt::Debug for SessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionKeys(<redacted>)")
    }
}

impl SessionKeys {
    /// Keys from a 32-byte secret.
    pub fn new(secret: &[u8; 32]) -> Self {
        Self { enc: EncodingKey::from_secret(secret), dec: DecodingKey::from_secret(secret) }
    }

    /// Sign claims.
    pub fn issue(&self, claims: &SessionClaims) -> Result<String, SessionError> {
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), claims, &self.enc).map_err(|_| SessionError::Invalid)
    }

    /// Verify a token at time `now` (Unix seconds): signature, algorithm, issuer, expiry (no leeway).
    pub fn verify(&self, token: &str, now: i64) -> Result<SessionClaims, SessionError> {
        let mut v = Validation::new(Algorithm::HS256);
        v.validate_exp = false; // checked below against the caller's clock
        v.set_issuer(&["sova"]);
        v.set_required_spec_claims(&["exp", "iss", "sub"]);
        let data = jsonwebtoken::decode::<SessionClaims>(token, &self.dec, &v).map_err(|_| SessionError::Invalid)?;
        if data.claims.exp <= now {
            return Err(SessionError::Expired);
        }
        Ok(data.claims)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(exp: i64) -> SessionClaims {
        SessionClaims { sub: "acc".into(), sid: "s1".into(), iat: 100, exp, iss: "sova".into() }
    }

    #[test]
    fn issue_verify_expire_tamper() {
        let k = SessionKeys::new(&[1u8; 32]);
        let t = k.issue(&claims(200)).unwrap_or_default();
        assert!(t.starts_with("eyJ"));
        assert_eq!(k.verify(&t, 150), Ok(claims(200)));
        assert_eq!(k.verify(&t, 200), Err(SessionError::Expired));
        let other = SessionKeys::new(&[2u8; 32]);
        assert_eq!(other.verify(&t, 150), Err(SessionError::Invalid));
        assert_eq!(k.verify("eyJ.x.y", 150), Err(SessionError::Invalid));
    }
}
