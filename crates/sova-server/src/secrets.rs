//! Secrets that live in files: the server key and the sandbox seed. Created with mode 0600, never logged.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};
use secrecy::{ExposeSecret, SecretString};

/// Read a secret file, or create it with `make()` (mode 0600) when it does not exist.
fn read_or_create(path: &Path, make: impl FnOnce() -> String) -> anyhow::Result<SecretString> {
    if path.exists() {
        return read_trimmed(path);
    }
    let value = make();
    write_secret_file(path, &format!("{value}\n"))?;
    Ok(SecretString::from(value))
}

#[cfg(unix)]
fn check_mode(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)?.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        bail!("{} is readable by others (mode {mode:o}); run: chmod 600 {}", path.display(), path.display());
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_mode(_: &Path) -> anyhow::Result<()> {
    Ok(())
}

/// The server key: 64 random bytes, hex. Bytes 0..32 pepper the keyed hashes, 32..64 sign sessions.
pub struct ServerKey {
    /// Pepper for [`sova_auth::keys::KeyHasher`].
    pub pepper: [u8; 32],
    /// Session signing key.
    pub session: [u8; 32],
}

/// Load or create the server key file.
pub fn server_key(path: &Path) -> anyhow::Result<ServerKey> {
    let hexed = read_or_create(path, || hex::encode(sova_auth::keys::random_bytes::<64>()))?;
    let bytes: [u8; 64] = hex::decode(hexed.expose_secret())
        .ok()
        .and_then(|v| v.try_into().ok())
        .with_context(|| format!("{} must hold 128 hex characters", path.display()))?;
    let mut pepper = [0u8; 32];
    let mut session = [0u8; 32];
    pepper.copy_from_slice(&bytes[..32]);
    session.copy_from_slice(&bytes[32..]);
    Ok(ServerKey { pepper, session })
}

/// Load or create the sandbox mnemonic (24 words).
pub fn sandbox_mnemonic(path: &Path) -> anyhow::Result<SecretString> {
    read_or_create(path, || sova_chain::SandboxSeed::generate().1)
}

/// Read a mnemonic file that must exist.
pub fn read_mnemonic(path: &Path) -> anyhow::Result<SecretString> {
    read_trimmed(path)
}

/// A private secret file's content without surrounding white space.
fn read_trimmed(path: &Path) -> anyhow::Result<SecretString> {
    Ok(SecretString::from(read_secret_file(path)?.expose_secret().trim().to_string()))
}

/// Create the data directory (and its parents) if missing, and make it private: mode 0700, so that the database,
/// keys and seed in it are reachable by the server's user only. An existing directory open to others is tightened
/// (and the log says so).
pub fn private_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir).with_context(|| format!("creating data directory {}", dir.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode() & 0o777;
        if mode != 0o700 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))
                .with_context(|| format!("making {} private (chmod 700)", dir.display()))?;
            tracing::info!(dir = %dir.display(), from = format!("{mode:o}"), "data directory made private (mode 700)");
        }
    }
    Ok(())
}

/// Write a new secret file with mode 0600 (fails if it exists).
pub fn write_secret_file(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    f.sync_all()?;
    Ok(())
}

/// Read a secret file that must exist and be private.
pub fn read_secret_file(path: &Path) -> anyhow::Result<SecretString> {
    check_mode(path)?;
    Ok(SecretString::from(std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?))
}
