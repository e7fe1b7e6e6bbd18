package nexo

import "encoding/json"

// Enumerations posagent reads and writes (nexo names, as Adyen spells them).
const (
	ProtocolVersion = "3.0"

	ClassService = "Service"
	ClassDevice  = "Device"
	ClassEvent   = "Event"

	TypeRequest      = "Request"
	TypeResponse     = "Response"
	TypeNotification = "Notification"

	CategoryPayment           = "Payment"
	CategoryTransactionStatus = "TransactionStatus"
	CategoryAbort             = "Abort"
	CategoryReversal          = "Reversal"
	CategoryDiagnosis         = "Diagnosis"
	CategoryLogin             = "Login"
	CategoryLogout            = "Logout"
	CategoryEvent             = "Event"

	PaymentNormal = "Normal"
	PaymentRefund = "Refund"

	ResultSuccess = "Success"
	ResultFailure = "Failure"

	ReasonMerchantCancel = "MerchantCancel"
	ReasonCustCancel     = "CustCancel"
	ReasonMalfunction    = "Malfunction"

	ReceiptCashier  = "CashierReceipt"
	ReceiptCustomer = "CustomerReceipt"
)

// ErrorCondition is Response.ErrorCondition.
type ErrorCondition string

// Error conditions posagent answers with.
const (
	CondAborted            ErrorCondition = "Aborted"
	CondBusy               ErrorCondition = "Busy"
	CondCancel             ErrorCondition = "Cancel"
	CondInProgress         ErrorCondition = "InProgress"
	CondMessageFormat      ErrorCondition = "MessageFormat"
	CondNotAllowed         ErrorCondition = "NotAllowed"
	CondNotFound           ErrorCondition = "NotFound"
	CondRefusal            ErrorCondition = "Refusal"
	CondUnavailableDevice  ErrorCondition = "UnavailableDevice"
	CondUnavailableService ErrorCondition = "UnavailableService"
	CondUnreachableHost    ErrorCondition = "UnreachableHost"
	CondInvalidCard        ErrorCondition = "InvalidCard"
	CondLoggedOut          ErrorCondition = "LoggedOut"
)

// MessageHeader heads every message.
type MessageHeader struct {
	ProtocolVersion string `json:"ProtocolVersion,omitempty"`
	MessageClass    string `json:"MessageClass"`
	MessageCategory string `json:"MessageCategory"`
	MessageType     string `json:"MessageType"`
	ServiceID       string `json:"ServiceID,omitempty"`
	DeviceID        string `json:"DeviceID,omitempty"`
	SaleID          string `json:"SaleID,omitempty"`
	POIID           string `json:"POIID"`
}

// Request is a decoded SaleToPOIRequest: the header and the one body its
// MessageCategory names. Raw is the body as sent (for the idempotency
// digest).
type Request struct {
	Header MessageHeader

	Payment           *PaymentRequest
	TransactionStatus *TransactionStatusRequest
	Abort             *AbortRequest
	Reversal          *ReversalRequest
	Diagnosis         *DiagnosisRequest
	Login             *LoginRequest
	Logout            *LogoutRequest

	Raw json.RawMessage
}

// TransactionIdentification is a transaction's id and time stamp.
type TransactionIdentification struct {
	TransactionID string `json:"TransactionID"`
	TimeStamp     string `json:"TimeStamp"`
}

// SaleData is the sale's part of a payment.
type SaleData struct {
	SaleTransactionID  TransactionIdentification `json:"SaleTransactionID"`
	SaleReferenceID    string                    `json:"SaleReferenceID,omitempty"`
	OperatorID         string                    `json:"OperatorID,omitempty"`
	SaleToAcquirerData json.RawMessage           `json:"SaleToAcquirerData,omitempty"`
}

// PaymentRequest asks for a payment or a refund.
type PaymentRequest struct {
	SaleData           SaleData           `json:"SaleData"`
	PaymentTransaction PaymentTransaction `json:"PaymentTransaction"`
	PaymentData        *PaymentData       `json:"PaymentData,omitempty"`
}

// PaymentTransaction carries the amounts.
type PaymentTransaction struct {
	AmountsReq             AmountsReq              `json:"AmountsReq"`
	OriginalPOITransaction *OriginalPOITransaction `json:"OriginalPOITransaction,omitempty"`
}

// AmountsReq is the requested amount in major units (10.99 EUR).
type AmountsReq struct {
	Currency        string      `json:"Currency"`
	RequestedAmount json.Number `json:"RequestedAmount"`
	CashBackAmount  json.Number `json:"CashBackAmount,omitempty"`
	TipAmount       json.Number `json:"TipAmount,omitempty"`
}

// PaymentData says which kind of payment.
type PaymentData struct {
	PaymentType string `json:"PaymentType,omitempty"`
}

// OriginalPOITransaction references an earlier transaction.
type OriginalPOITransaction struct {
	SaleID           string                     `json:"SaleID,omitempty"`
	POIID            string                     `json:"POIID,omitempty"`
	POITransactionID *TransactionIdentification `json:"POITransactionID,omitempty"`
	ApprovalCode     string                     `json:"ApprovalCode,omitempty"`
}

// MessageReference names an earlier message.
type MessageReference struct {
	MessageCategory string `json:"MessageCategory,omitempty"`
	ServiceID       string `json:"ServiceID,omitempty"`
	DeviceID        string `json:"DeviceID,omitempty"`
	SaleID          string `json:"SaleID,omitempty"`
	POIID           string `json:"POIID,omitempty"`
}

// TransactionStatusRequest asks what became of a message.
type TransactionStatusRequest struct {
	MessageReference  *MessageReference `json:"MessageReference,omitempty"`
	DocumentQualifier []string          `json:"DocumentQualifier,omitempty"`
}

// AbortRequest asks to stop the message it references.
type AbortRequest struct {
	AbortReason      string           `json:"AbortReason"`
	MessageReference MessageReference `json:"MessageReference"`
}

// ReversalRequest asks to reverse an earlier payment.
type ReversalRequest struct {
	OriginalPOITransaction OriginalPOITransaction `json:"OriginalPOITransaction"`
	ReversalReason         string                 `json:"ReversalReason"`
	ReversedAmount         json.Number            `json:"ReversedAmount,omitempty"`
	SaleData               *SaleData              `json:"SaleData,omitempty"`
}

// DiagnosisRequest asks for the terminal's state.
type DiagnosisRequest struct {
	POIID             string `json:"POIID,omitempty"`
	HostDiagnosisFlag bool   `json:"HostDiagnosisFlag,omitempty"`
}

// LoginRequest opens a session of the sale system.
type LoginRequest struct {
	DateTime         string          `json:"DateTime"`
	OperatorID       string          `json:"OperatorID,omitempty"`
	OperatorLanguage string          `json:"OperatorLanguage"`
	SaleSoftware     json.RawMessage `json:"SaleSoftware"`
	TrainingModeFlag bool            `json:"TrainingModeFlag,omitempty"`
}

// LogoutRequest closes it.
type LogoutRequest struct {
	MaintenanceAllowed bool `json:"MaintenanceAllowed,omitempty"`
}

// Response is every answer's result.
type Response struct {
	Result             string         `json:"Result"`
	ErrorCondition     ErrorCondition `json:"ErrorCondition,omitempty"`
	AdditionalResponse string         `json:"AdditionalResponse,omitempty"`
}

// SaleToPOIResponse is an answer: the header and one body.
type SaleToPOIResponse struct {
	MessageHeader             MessageHeader              `json:"MessageHeader"`
	PaymentResponse           *PaymentResponse           `json:"PaymentResponse,omitempty"`
	TransactionStatusResponse *TransactionStatusResponse `json:"TransactionStatusResponse,omitempty"`
	ReversalResponse          *ReversalResponse          `json:"ReversalResponse,omitempty"`
	DiagnosisResponse         *DiagnosisResponse         `json:"DiagnosisResponse,omitempty"`
	LoginResponse             *BareResponse              `json:"LoginResponse,omitempty"`
	LogoutResponse            *BareResponse              `json:"LogoutResponse,omitempty"`
	// Other carries the answer to a category posagent does not support,
	// under "<Category>Response".
	Other map[string]*BareResponse `json:"-"`
}

// MarshalJSON writes the response with its Other bodies beside the typed ones.
func (r SaleToPOIResponse) MarshalJSON() ([]byte, error) {
	type plain SaleToPOIResponse
	b, err := json.Marshal(plain(r))
	if err != nil || len(r.Other) == 0 {
		return b, err
	}
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	for k, v := range r.Other {
		if m[k], err = json.Marshal(v); err != nil {
			return nil, err
		}
	}
	return json.Marshal(m)
}

// BareResponse is a body holding only a Response.
type BareResponse struct {
	Response Response `json:"Response"`
}

// PaymentResponse answers a PaymentRequest.
type PaymentResponse struct {
	Response       Response         `json:"Response"`
	SaleData       SaleData         `json:"SaleData"`
	POIData        POIData          `json:"POIData"`
	PaymentResult  *PaymentResult   `json:"PaymentResult,omitempty"`
	PaymentReceipt []PaymentReceipt `json:"PaymentReceipt,omitempty"`
}

// POIData names the terminal's transaction.
type POIData struct {
	POITransactionID TransactionIdentification `json:"POITransactionID"`
}

// PaymentResult is what happened.
type PaymentResult struct {
	PaymentType           string                 `json:"PaymentType,omitempty"`
	OnlineFlag            bool                   `json:"OnlineFlag"`
	AmountsResp           *AmountsResp           `json:"AmountsResp,omitempty"`
	PaymentInstrumentData *PaymentInstrumentData `json:"PaymentInstrumentData,omitempty"`
	PaymentAcquirerData   *PaymentAcquirerData   `json:"PaymentAcquirerData,omitempty"`
}

// AmountsResp is the authorised amount in major units.
type AmountsResp struct {
	Currency         string      `json:"Currency"`
	AuthorizedAmount json.Number `json:"AuthorizedAmount"`
}

// PaymentInstrumentData describes the card.
type PaymentInstrumentData struct {
	PaymentInstrumentType string    `json:"PaymentInstrumentType"`
	CardData              *CardData `json:"CardData,omitempty"`
}

// CardData is the masked card.
type CardData struct {
	EntryMode    []string `json:"EntryMode,omitempty"`
	MaskedPan    string   `json:"MaskedPan,omitempty"`
	PaymentBrand string   `json:"PaymentBrand,omitempty"`
}

// PaymentAcquirerData is the acquirer's side.
type PaymentAcquirerData struct {
	AcquirerPOIID         string                     `json:"AcquirerPOIID"`
	MerchantID            string                     `json:"MerchantID"`
	ApprovalCode          string                     `json:"ApprovalCode,omitempty"`
	AcquirerTransactionID *TransactionIdentification `json:"AcquirerTransactionID,omitempty"`
}

// PaymentReceipt is one printed copy.
type PaymentReceipt struct {
	DocumentQualifier     string        `json:"DocumentQualifier"`
	RequiredSignatureFlag bool          `json:"RequiredSignatureFlag"`
	OutputContent         OutputContent `json:"OutputContent"`
}

// OutputContent is the copy's text.
type OutputContent struct {
	OutputFormat string       `json:"OutputFormat"`
	OutputText   []OutputText `json:"OutputText"`
}

// OutputText is one line.
type OutputText struct {
	Text          string `json:"Text"`
	EndOfLineFlag bool   `json:"EndOfLineFlag"`
}

// TransactionStatusResponse answers a TransactionStatusRequest.
type TransactionStatusResponse struct {
	Response                Response                 `json:"Response"`
	MessageReference        *MessageReference        `json:"MessageReference,omitempty"`
	RepeatedMessageResponse *RepeatedMessageResponse `json:"RepeatedMessageResponse,omitempty"`
}

// RepeatedMessageResponse is the original answer, repeated.
type RepeatedMessageResponse struct {
	MessageHeader               MessageHeader               `json:"MessageHeader"`
	RepeatedResponseMessageBody RepeatedResponseMessageBody `json:"RepeatedResponseMessageBody"`
}

// RepeatedResponseMessageBody holds the repeated body.
type RepeatedResponseMessageBody struct {
	PaymentResponse  *PaymentResponse  `json:"PaymentResponse,omitempty"`
	ReversalResponse *ReversalResponse `json:"ReversalResponse,omitempty"`
}

// ReversalResponse answers a ReversalRequest.
type ReversalResponse struct {
	Response               Response                `json:"Response"`
	POIData                *POIData                `json:"POIData,omitempty"`
	OriginalPOITransaction *OriginalPOITransaction `json:"OriginalPOITransaction,omitempty"`
	ReversedAmount         json.Number             `json:"ReversedAmount,omitempty"`
	PaymentReceipt         []PaymentReceipt        `json:"PaymentReceipt,omitempty"`
}

// DiagnosisResponse reports the terminal's state.
type DiagnosisResponse struct {
	Response     Response     `json:"Response"`
	POIStatus    *POIStatus   `json:"POIStatus,omitempty"`
	HostStatus   []HostStatus `json:"HostStatus,omitempty"`
	LoggedSaleID []string     `json:"LoggedSaleID,omitempty"`
}

// POIStatus is the terminal's state.
type POIStatus struct {
	GlobalStatus        string `json:"GlobalStatus"` // Ok, Busy, Maintenance, Unreachable
	CardReaderOKFlag    bool   `json:"CardReaderOKFlag"`
	CommunicationOKFlag bool   `json:"CommunicationOKFlag"`
}

// HostStatus is one acquirer's reachability.
type HostStatus struct {
	AcquirerID      string `json:"AcquirerID"`
	IsReachableFlag bool   `json:"IsReachableFlag"`
}

// EventNotification is what posagent sends (as a SaleToPOIRequest, the way
// Adyen terminals do) when a message cannot be answered in kind: bad
// envelope, no usable header.
type EventNotification struct {
	EventToNotify   string `json:"EventToNotify"` // Reject
	EventDetails    string `json:"EventDetails,omitempty"`
	RejectedMessage string `json:"RejectedMessage,omitempty"`
	TimeStamp       string `json:"TimeStamp"`
}
