//! The operators `+ - * /` and unary `-` on `Var`s: with another `Var`,
//! with a `Tensor` (which becomes a constant on the `Var`'s tape), and with
//! a scalar on either side; by value and by reference.
//!
//! ```
//! use curvature_autograd::{Tape, Tensor};
//! let tape = Tape::new();
//! let x = tape.var(Tensor::from_vec(vec![1.0_f64, 2.0], &[2]));
//! let w = Tensor::from_vec(vec![3.0, 4.0], &[2]);
//! let y = (1.0 - &x) * &w + 2.0 * &x / 4.0; // scalars and tensors mix freely
//! assert_eq!(y.value().to_vec(), vec![0.5, -3.0]);
//! ```

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::shape::broadcast_shapes;
use crate::{Element, Tensor, Var};

impl<T: Element> Var<T> {
    /// The shape `self` and `other` broadcast to, if any.
    pub fn broadcast_shape(&self, other: &Var<T>) -> Option<crate::Shape> {
        broadcast_shapes(&self.shape(), &other.shape())
    }
}

macro_rules! var_binary_ops {
    ($($trait:ident $method:ident),*) => {$(
        impl<T: Element> $trait<&Var<T>> for &Var<T> {
            type Output = Var<T>;
            fn $method(self, rhs: &Var<T>) -> Var<T> { Var::$method(self, rhs) }
        }
        impl<T: Element> $trait<Var<T>> for Var<T> {
            type Output = Var<T>;
            fn $method(self, rhs: Var<T>) -> Var<T> { Var::$method(&self, &rhs) }
        }
        impl<T: Element> $trait<&Var<T>> for Var<T> {
            type Output = Var<T>;
            fn $method(self, rhs: &Var<T>) -> Var<T> { Var::$method(&self, rhs) }
        }
        impl<T: Element> $trait<Var<T>> for &Var<T> {
            type Output = Var<T>;
            fn $method(self, rhs: Var<T>) -> Var<T> { Var::$method(self, &rhs) }
        }
        // A tensor operand is a constant on the Var's tape.
        impl<T: Element> $trait<&Tensor<T>> for &Var<T> {
            type Output = Var<T>;
            fn $method(self, rhs: &Tensor<T>) -> Var<T> {
                Var::$method(self, &self.constant_like(rhs.clone()))
            }
        }
        impl<T: Element> $trait<Tensor<T>> for &Var<T> {
            type Output = Var<T>;
            fn $method(self, rhs: Tensor<T>) -> Var<T> {
                Var::$method(self, &self.constant_like(rhs))
            }
        }
        impl<T: Element> $trait<&Tensor<T>> for Var<T> {
            type Output = Var<T>;
            fn $method(self, rhs: &Tensor<T>) -> Var<T> {
                Var::$method(&self, &self.constant_like(rhs.clone()))
            }
        }
        impl<T: Element> $trait<Tensor<T>> for Var<T> {
            type Output = Var<T>;
            fn $method(self, rhs: Tensor<T>) -> Var<T> {
                Var::$method(&self, &self.constant_like(rhs))
            }
        }
        impl<T: Element> $trait<&Var<T>> for &Tensor<T> {
            type Output = Var<T>;
            fn $method(self, rhs: &Var<T>) -> Var<T> {
                Var::$method(&rhs.constant_like(self.clone()), rhs)
            }
        }
        impl<T: Element> $trait<Var<T>> for &Tensor<T> {
            type Output = Var<T>;
            fn $method(self, rhs: Var<T>) -> Var<T> {
                Var::$method(&rhs.constant_like(self.clone()), &rhs)
            }
        }
        impl<T: Element> $trait<&Var<T>> for Tensor<T> {
            type Output = Var<T>;
            fn $method(self, rhs: &Var<T>) -> Var<T> {
                Var::$method(&rhs.constant_like(self), rhs)
            }
        }
        impl<T: Element> $trait<Var<T>> for Tensor<T> {
            type Output = Var<T>;
            fn $method(self, rhs: Var<T>) -> Var<T> {
                Var::$method(&rhs.constant_like(self), &rhs)
            }
        }
    )*};
}
var_binary_ops!(Add add, Sub sub, Mul mul, Div div);

macro_rules! var_scalar_ops {
    ($($t:ty),*) => {$(
        impl Add<$t> for &Var<$t> {
            type Output = Var<$t>;
            fn add(self, s: $t) -> Var<$t> { self.add_scalar(s) }
        }
        impl Add<$t> for Var<$t> {
            type Output = Var<$t>;
            fn add(self, s: $t) -> Var<$t> { self.add_scalar(s) }
        }
        impl Sub<$t> for &Var<$t> {
            type Output = Var<$t>;
            fn sub(self, s: $t) -> Var<$t> { self.add_scalar(-s) }
        }
        impl Sub<$t> for Var<$t> {
            type Output = Var<$t>;
            fn sub(self, s: $t) -> Var<$t> { self.add_scalar(-s) }
        }
        impl Mul<$t> for &Var<$t> {
            type Output = Var<$t>;
            fn mul(self, s: $t) -> Var<$t> { self.mul_scalar(s) }
        }
        impl Mul<$t> for Var<$t> {
            type Output = Var<$t>;
            fn mul(self, s: $t) -> Var<$t> { self.mul_scalar(s) }
        }
        impl Div<$t> for &Var<$t> {
            type Output = Var<$t>;
            fn div(self, s: $t) -> Var<$t> { self.mul_scalar(1.0 / s) }
        }
        impl Div<$t> for Var<$t> {
            type Output = Var<$t>;
            fn div(self, s: $t) -> Var<$t> { self.mul_scalar(1.0 / s) }
        }
        impl Add<&Var<$t>> for $t {
            type Output = Var<$t>;
            fn add(self, v: &Var<$t>) -> Var<$t> { v.add_scalar(self) }
        }
        impl Add<Var<$t>> for $t {
            type Output = Var<$t>;
            fn add(self, v: Var<$t>) -> Var<$t> { v.add_scalar(self) }
        }
        impl Sub<&Var<$t>> for $t {
            type Output = Var<$t>;
            fn sub(self, v: &Var<$t>) -> Var<$t> { v.neg().add_scalar(self) }
        }
        impl Sub<Var<$t>> for $t {
            type Output = Var<$t>;
            fn sub(self, v: Var<$t>) -> Var<$t> { v.neg().add_scalar(self) }
        }
        impl Mul<&Var<$t>> for $t {
            type Output = Var<$t>;
            fn mul(self, v: &Var<$t>) -> Var<$t> { v.mul_scalar(self) }
        }
        impl Mul<Var<$t>> for $t {
            type Output = Var<$t>;
            fn mul(self, v: Var<$t>) -> Var<$t> { v.mul_scalar(self) }
        }
        impl Div<&Var<$t>> for $t {
            type Output = Var<$t>;
            fn div(self, v: &Var<$t>) -> Var<$t> { v.recip().mul_scalar(self) }
        }
        impl Div<Var<$t>> for $t {
            type Output = Var<$t>;
            fn div(self, v: Var<$t>) -> Var<$t> { v.recip().mul_scalar(self) }
        }
    )*};
}
var_scalar_ops!(f32, f64);

impl<T: Element> Neg for &Var<T> {
    type Output = Var<T>;
    fn neg(self) -> Var<T> {
        Var::neg(self)
    }
}

impl<T: Element> Neg for Var<T> {
    type Output = Var<T>;
    fn neg(self) -> Var<T> {
        Var::neg(&self)
    }
}
