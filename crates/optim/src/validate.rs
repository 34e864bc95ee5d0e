//! Range checks for hyperparameters, run when an optimizer or schedule is
//! built: each failure names the hyperparameter and the value given.

use crate::OptimError;

/// `lr > 0` and finite.
pub(crate) fn positive(name: &'static str, value: f64) -> Result<(), OptimError> {
    if value.is_finite() && value > 0.0 {
        Ok(())
    } else {
        Err(OptimError::invalid(name, value, "must be finite and > 0"))
    }
}

/// `value >= 0` and finite.
pub(crate) fn non_negative(name: &'static str, value: f64) -> Result<(), OptimError> {
    if value.is_finite() && value >= 0.0 {
        Ok(())
    } else {
        Err(OptimError::invalid(name, value, "must be finite and >= 0"))
    }
}

/// A moving-average coefficient: `0 <= beta < 1`.
pub(crate) fn beta(name: &'static str, value: f64) -> Result<(), OptimError> {
    if (0.0..1.0).contains(&value) {
        Ok(())
    } else {
        Err(OptimError::invalid(name, value, "must be in [0, 1)"))
    }
}

/// A fraction: `0 <= value <= 1`.
pub(crate) fn unit_interval(name: &'static str, value: f64) -> Result<(), OptimError> {
    if (0.0..=1.0).contains(&value) {
        Ok(())
    } else {
        Err(OptimError::invalid(name, value, "must be in [0, 1]"))
    }
}

/// A factor in `(0, 1]`.
pub(crate) fn half_open_unit(name: &'static str, value: f64) -> Result<(), OptimError> {
    if value > 0.0 && value <= 1.0 {
        Ok(())
    } else {
        Err(OptimError::invalid(name, value, "must be in (0, 1]"))
    }
}

/// A count of at least one.
pub(crate) fn at_least_one(name: &'static str, value: u64) -> Result<(), OptimError> {
    if value >= 1 {
        Ok(())
    } else {
        Err(OptimError::invalid(name, value, "must be >= 1"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nan_and_infinity_are_rejected_everywhere() {
        assert!(positive("lr", f64::NAN).is_err());
        assert!(positive("lr", f64::INFINITY).is_err());
        assert!(non_negative("eps", f64::NAN).is_err());
        assert!(beta("betas.0", f64::NAN).is_err());
        assert!(unit_interval("dampening", f64::NAN).is_err());
        assert!(half_open_unit("hessian_power", f64::NAN).is_err());
    }

    #[test]
    fn bounds_are_inclusive_or_exclusive_as_documented() {
        assert!(beta("b", 0.0).is_ok());
        assert!(beta("b", 1.0).is_err());
        assert!(half_open_unit("k", 1.0).is_ok());
        assert!(half_open_unit("k", 0.0).is_err());
        assert!(non_negative("wd", 0.0).is_ok());
        assert!(positive("lr", 0.0).is_err());
        assert!(at_least_one("n", 0).is_err());
        let e = positive("lr", -1.5).unwrap_err().to_string();
        assert!(e.contains("lr") && e.contains("-1.5"), "{e}");
    }
}
