//! `+ - * /` with broadcasting, with scalars, and their operator forms.

use std::ops::{Add, Div, Mul, Neg, Sub};

use crate::op::Op;
use crate::shape::broadcast_shapes;
use crate::{Element, Var};

impl<T: Element> Var<T> {
    fn binary(&self, other: &Var<T>, name: &str, op: Op<T>, f: impl Fn(T, T) -> T) -> Var<T> {
        self.check_same_tape(other, name);
        let value = self.value().zip_map(&other.value(), name, f);
        self.record(op, value)
    }

    /// `self + other`, broadcasting as PyTorch.
    pub fn add(&self, other: &Var<T>) -> Var<T> {
        self.binary(other, "add", Op::Add(self.id, other.id), |a, b| a + b)
    }

    /// `self - other`, broadcasting as PyTorch.
    pub fn sub(&self, other: &Var<T>) -> Var<T> {
        self.binary(other, "sub", Op::Sub(self.id, other.id), |a, b| a - b)
    }

    /// `self * other` element-wise, broadcasting as PyTorch.
    pub fn mul(&self, other: &Var<T>) -> Var<T> {
        self.binary(other, "mul", Op::Mul(self.id, other.id), |a, b| a * b)
    }

    /// `self / other` element-wise, broadcasting as PyTorch.
    pub fn div(&self, other: &Var<T>) -> Var<T> {
        self.binary(other, "div", Op::Div(self.id, other.id), |a, b| a / b)
    }

    /// `self + s`.
    pub fn add_scalar(&self, s: T) -> Var<T> {
        self.record(Op::AddScalar(self.id), self.value().add_scalar(s))
    }

    /// `self * s`.
    pub fn mul_scalar(&self, s: T) -> Var<T> {
        self.record(Op::MulScalar(self.id, s), self.value().mul_scalar(s))
    }

    /// `-self`.
    pub fn neg(&self) -> Var<T> {
        self.record(Op::Neg(self.id), self.value().neg())
    }

    /// `1 / self`.
    pub fn recip(&self) -> Var<T> {
        self.powf(-T::one())
    }

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
