package acqsim_test

import (
	"fmt"

	"posagent/uplink/acqsim"
)

func ExampleParseRules() {
	rules, err := acqsim.ParseRules([]byte(`{"rules":[
		{"name":"insufficient funds","min_amount":100000,"response_code":"51"},
		{"name":"lost answer","amount":4242,"fault":"drop_after"}
	]}`))
	if err != nil {
		panic(err)
	}
	fmt.Println(len(rules.Rules), rules.Rules[1].Fault)
	// Output: 2 drop_after
}
