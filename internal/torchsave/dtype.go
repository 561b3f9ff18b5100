package torchsave

// DType is a tensor element type, spelled as torch spells it after "torch."
// (torch.bfloat16 is "bfloat16").
type DType string

// The element types torch can serialize.
const (
	Float64  DType = "float64"
	Float32  DType = "float32"
	Float16  DType = "float16"
	BFloat16 DType = "bfloat16"

	Complex32  DType = "complex32"
	Complex64  DType = "complex64"
	Complex128 DType = "complex128"

	Int64  DType = "int64"
	Int32  DType = "int32"
	Int16  DType = "int16"
	Int8   DType = "int8"
	Uint8  DType = "uint8"
	Uint16 DType = "uint16"
	Uint32 DType = "uint32"
	Uint64 DType = "uint64"
	Bool   DType = "bool"

	QInt8    DType = "qint8"
	QUInt8   DType = "quint8"
	QInt32   DType = "qint32"
	QUInt4x2 DType = "quint4x2"
	QUInt2x4 DType = "quint2x4"

	Float8E4M3FN   DType = "float8_e4m3fn"
	Float8E5M2     DType = "float8_e5m2"
	Float8E4M3FNUZ DType = "float8_e4m3fnuz"
	Float8E5M2FNUZ DType = "float8_e5m2fnuz"
	Float8E8M0FNU  DType = "float8_e8m0fnu"
	Float4E2M1FNx2 DType = "float4_e2m1fn_x2"

	Bits8   DType = "bits8"
	Bits16  DType = "bits16"
	Bits1x8 DType = "bits1x8"
	Bits2x4 DType = "bits2x4"
	Bits4x2 DType = "bits4x2"
)

// dtypeInfo is what the format needs to know about an element type.
type dtypeInfo struct {
	size    int64  // bytes per element
	swap    int64  // byte-swap unit: size, or half of it for complex types
	storage string // legacy torch.<X>Storage class, or "" when torch pickles it with _rebuild_tensor_v3
}

func (d DType) info() (dtypeInfo, bool) {
	switch d {
	case Float64:
		return dtypeInfo{8, 8, "DoubleStorage"}, true
	case Float32:
		return dtypeInfo{4, 4, "FloatStorage"}, true
	case Float16:
		return dtypeInfo{2, 2, "HalfStorage"}, true
	case BFloat16:
		return dtypeInfo{2, 2, "BFloat16Storage"}, true
	case Complex32:
		return dtypeInfo{4, 2, ""}, true
	case Complex64:
		return dtypeInfo{8, 4, "ComplexFloatStorage"}, true
	case Complex128:
		return dtypeInfo{16, 8, "ComplexDoubleStorage"}, true
	case Int64:
		return dtypeInfo{8, 8, "LongStorage"}, true
	case Int32:
		return dtypeInfo{4, 4, "IntStorage"}, true
	case Int16:
		return dtypeInfo{2, 2, "ShortStorage"}, true
	case Int8:
		return dtypeInfo{1, 1, "CharStorage"}, true
	case Uint8:
		return dtypeInfo{1, 1, "ByteStorage"}, true
	case Bool:
		return dtypeInfo{1, 1, "BoolStorage"}, true
	case Uint16:
		return dtypeInfo{2, 2, ""}, true
	case Uint32:
		return dtypeInfo{4, 4, ""}, true
	case Uint64:
		return dtypeInfo{8, 8, ""}, true
	case QInt8:
		return dtypeInfo{1, 1, "QInt8Storage"}, true
	case QUInt8:
		return dtypeInfo{1, 1, "QUInt8Storage"}, true
	case QInt32:
		return dtypeInfo{4, 4, "QInt32Storage"}, true
	case QUInt4x2:
		return dtypeInfo{1, 1, "QUInt4x2Storage"}, true
	case QUInt2x4:
		return dtypeInfo{1, 1, "QUInt2x4Storage"}, true
	case Float8E4M3FN, Float8E5M2, Float8E4M3FNUZ, Float8E5M2FNUZ, Float8E8M0FNU, Float4E2M1FNx2,
		Bits8, Bits1x8, Bits2x4, Bits4x2:
		return dtypeInfo{1, 1, ""}, true
	case Bits16:
		return dtypeInfo{2, 2, ""}, true
	}
	return dtypeInfo{}, false
}

// Valid reports whether d is an element type this package knows.
func (d DType) Valid() bool {
	_, ok := d.info()
	return ok
}

// ItemSize returns the number of bytes per element, or 0 for an unknown
// type.
func (d DType) ItemSize() int64 {
	i, _ := d.info()
	return i.size
}

// StorageClass returns the legacy storage class torch pickles tensors of
// this type with (torch.BFloat16Storage is "BFloat16Storage"), or "" for
// types torch writes with _rebuild_tensor_v3 and torch.UntypedStorage.
func (d DType) StorageClass() string {
	i, _ := d.info()
	return i.storage
}

// untypedStorage is the storage class whose element count is in bytes.
const untypedStorage = "UntypedStorage"

// storageDType maps a storage class name from a persistent id to the dtype
// of its elements. UntypedStorage counts bytes.
func storageDType(class string) (DType, bool) {
	switch class {
	case "DoubleStorage":
		return Float64, true
	case "FloatStorage":
		return Float32, true
	case "HalfStorage":
		return Float16, true
	case "BFloat16Storage":
		return BFloat16, true
	case "ComplexFloatStorage":
		return Complex64, true
	case "ComplexDoubleStorage":
		return Complex128, true
	case "LongStorage":
		return Int64, true
	case "IntStorage":
		return Int32, true
	case "ShortStorage":
		return Int16, true
	case "CharStorage":
		return Int8, true
	case "ByteStorage", untypedStorage:
		return Uint8, true
	case "BoolStorage":
		return Bool, true
	case "QInt8Storage":
		return QInt8, true
	case "QUInt8Storage":
		return QUInt8, true
	case "QInt32Storage":
		return QInt32, true
	case "QUInt4x2Storage":
		return QUInt4x2, true
	case "QUInt2x4Storage":
		return QUInt2x4, true
	}
	return "", false
}

// dtypeByName maps the name of a torch.<dtype> global, aliases included,
// to a DType.
func dtypeByName(name string) (DType, bool) {
	switch name {
	case "float", "float32":
		return Float32, true
	case "double", "float64":
		return Float64, true
	case "half", "float16":
		return Float16, true
	case "long", "int64":
		return Int64, true
	case "int", "int32":
		return Int32, true
	case "short", "int16":
		return Int16, true
	case "cfloat", "complex64":
		return Complex64, true
	case "cdouble", "complex128":
		return Complex128, true
	case "chalf", "complex32":
		return Complex32, true
	}
	d := DType(name)
	if d.Valid() {
		return d, true
	}
	return "", false
}
