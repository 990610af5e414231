//! Tests of Party-building projects an agency runs for its paired compounds: plan, street approval, progress, completion and evaluation.
