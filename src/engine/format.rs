//! The one value formatter (placeholder; being written).
