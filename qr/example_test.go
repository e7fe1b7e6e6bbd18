package qr_test

import (
	"encoding/json"
	"fmt"

	"posagent/qr"
)

func ExampleDecodeMPM() {
	m, err := qr.DecodeMPM("00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D")
	if err != nil {
		fmt.Println(err)
		return
	}
	gui, _ := m.Get("26", "00")
	name, _ := m.Get("59")
	fmt.Println(gui, name, m.CRCOK, len(m.Check()))
	// Output: br.gov.bcb.pix Fulano de Tal true 0
}

func ExampleEncodeMPM() {
	s, _ := qr.EncodeMPM([]qr.Field{
		{ID: "00", Value: "01"},
		{ID: "01", Value: "12"},
		{ID: "29", Sub: []qr.Field{{ID: "00", Value: "A000000677010111"}, {ID: "01", Value: "0066812345678"}}},
		{ID: "53", Value: "764"},
		{ID: "54", Value: "50.00"},
		{ID: "58", Value: "TH"},
	})
	fmt.Println(s)
	// Output: 00020101021229370016A000000677010111011300668123456785303764540550.005802TH63045197
}

func ExampleClassify() {
	for _, s := range []string{"134567890123456789", "281234567890123456", "6212345678901234567", "hello"} {
		fmt.Println(qr.Classify(s))
	}
	// Output:
	// wechat-pay
	// alipay
	// unionpay
	// unknown
}

func ExampleInspect() {
	r := qr.Inspect("00020101021129370016A000000677010111011300668123456785802TH53037646304"+"5D82", qr.InspectOptions{})
	b, _ := json.Marshal(r)
	fmt.Println(string(b))
	// Output: {"format":"emvco-mpm","valid":true,"crc_ok":true,"errors":[],"warnings":["qr: mpm: ID 52: mandatory: merchant category code missing","qr: mpm: ID 59: mandatory: merchant name missing","qr: mpm: ID 60: mandatory: merchant city missing"],"fields":{"00":"01","01":"11","29":{"00":"A000000677010111","01":"0066812345678"},"58":"TH","53":"764","63":"5D82"}}
}
