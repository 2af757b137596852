//! UUID: a random (version 4) UUID as 32 lowercase hex digits without
//! dashes, the text ShardingSphere's UUID generator inserts.

use super::{GeneratedKey, KeyGenerator};
use crate::error::AlgorithmError;

#[derive(Debug, Default, Clone, Copy)]
pub struct UuidGenerator;

impl KeyGenerator for UuidGenerator {
    fn type_name(&self) -> &'static str {
        "UUID"
    }

    fn next_key(&self) -> Result<GeneratedKey, AlgorithmError> {
        Ok(GeneratedKey::Text(
            ::uuid::Uuid::new_v4().simple().to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn text(key: GeneratedKey) -> String {
        match key {
            GeneratedKey::Text(s) => s,
            GeneratedKey::Int(v) => panic!("expected text, got {v}"),
        }
    }

    #[test]
    fn thirty_two_lowercase_hex_version_4() {
        let key = text(UuidGenerator.next_key().expect("key"));
        assert_eq!(key.len(), 32);
        assert!(key
            .chars()
            .all(|c| c.is_ascii_digit() || ('a'..='f').contains(&c)));
        // Version nibble 4, variant bits 10xx.
        assert_eq!(&key[12..13], "4");
        assert!(matches!(&key[16..17], "8" | "9" | "a" | "b"), "{key}");
        let parsed = ::uuid::Uuid::parse_str(&key).expect("a UUID");
        assert_eq!(parsed.get_version_num(), 4);
    }

    #[test]
    fn keys_differ() {
        let keys: HashSet<String> = (0..1000)
            .map(|_| text(UuidGenerator.next_key().expect("key")))
            .collect();
        assert_eq!(keys.len(), 1000);
    }
}
