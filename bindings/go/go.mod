module github.com/refstore/refstore/bindings/go

go 1.19
