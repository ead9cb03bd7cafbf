module github.com/edgejwt/edgejwt

go 1.26.2

require github.com/tetratelabs/proxy-wasm-go-sdk v0.24.0

require (
	github.com/stretchr/testify v1.11.1 // indirect
	github.com/tidwall/gjson v1.20.2 // indirect
	github.com/tidwall/match v1.1.1 // indirect
	github.com/tidwall/pretty v1.3.0 // indirect
)
