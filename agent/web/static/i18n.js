// Words and number formats for the display (and the console's prompt
// names). One table per language; en is the fallback for a missing key.

export const texts = {
  en: {
    welcome: 'Welcome',
    amount: 'Amount',
    present_card: 'Present card',
    present_card_again: 'Present card again',
    remove_card: 'Remove card',
    reading: 'Reading card…',
    processing: 'Processing…',
    approved: 'Approved',
    declined: 'Declined',
    try_another_interface: 'Try another interface: insert the card or use another card',
    see_phone: 'See your phone',
    scan_qr: 'Scan the code to pay',
    scan_code: 'Show your payment code to the scanner',
    or_scan: 'or scan this code with your wallet app',
    or_show_code: 'or show your payment code to the scanner',
    cancelled: 'Cancelled',
    not_completed: 'Payment not completed',
    refunded: 'Refunded',
    refund: 'Refund',
    card_ending: 'Card ending {last4}',
    reconnecting: 'Reconnecting…',
    pair_title: 'Pair this display',
    pair_help: 'Enter the code shown on the console under “Pair a display”.',
    pair_label: 'Pairing code',
    pair_button: 'Pair',
    pair_bad: 'That code is not valid. Ask for a new one.',
  },
  'zh-Hant': {
    welcome: '歡迎光臨',
    amount: '金額',
    present_card: '請出示卡片',
    present_card_again: '請再次出示卡片',
    remove_card: '請移開卡片',
    reading: '讀取卡片中…',
    processing: '處理中…',
    approved: '交易成功',
    declined: '交易被拒絕',
    try_another_interface: '請改用其他方式：插入卡片或改用其他卡片',
    see_phone: '請查看您的手機',
    scan_qr: '請掃描條碼付款',
    scan_code: '請將付款碼對準掃描器',
    or_scan: '或使用錢包 App 掃描此條碼',
    or_show_code: '或將付款碼對準掃描器',
    cancelled: '已取消',
    not_completed: '交易未完成',
    refunded: '已退款',
    refund: '退款',
    card_ending: '卡號末四碼 {last4}',
    reconnecting: '重新連線中…',
    pair_title: '配對此顯示器',
    pair_help: '請輸入主控台「配對顯示器」下方顯示的配對碼。',
    pair_label: '配對碼',
    pair_button: '配對',
    pair_bad: '配對碼無效，請重新取得。',
  },
  'zh-Hans': {
    welcome: '欢迎光临',
    amount: '金额',
    present_card: '请出示卡片',
    present_card_again: '请再次出示卡片',
    remove_card: '请移开卡片',
    reading: '正在读卡…',
    processing: '处理中…',
    approved: '交易成功',
    declined: '交易被拒绝',
    try_another_interface: '请改用其他方式：插入卡片或换一张卡',
    see_phone: '请查看您的手机',
    scan_qr: '请扫码付款',
    scan_code: '请将付款码对准扫描器',
    or_scan: '或用钱包应用扫描此码',
    or_show_code: '或将付款码对准扫描器',
    cancelled: '已取消',
    not_completed: '交易未完成',
    refunded: '已退款',
    refund: '退款',
    card_ending: '卡号末四位 {last4}',
    reconnecting: '正在重新连接…',
    pair_title: '配对此显示屏',
    pair_help: '请输入控制台“配对显示屏”下方显示的配对码。',
    pair_label: '配对码',
    pair_button: '配对',
    pair_bad: '配对码无效，请重新获取。',
  },
};

// chooseLang picks the first supported language of the preferences given
// (config, then the browser's list).
export function chooseLang(...prefs) {
  for (const p of prefs.flat().filter(Boolean)) {
    const x = String(p).toLowerCase();
    if (x.startsWith('zh-hant') || /^zh-(tw|hk|mo)\b/.test(x)) return 'zh-Hant';
    if (x.startsWith('zh')) return 'zh-Hans';
    if (x.startsWith('en')) return 'en';
  }
  return 'en';
}

export function t(lang, key, vars) {
  let s = (texts[lang] && texts[lang][key]) || texts.en[key] || key;
  if (vars) for (const [k, v] of Object.entries(vars)) s = s.replace('{' + k + '}', v);
  return s;
}

// fractionDigits of an ISO 4217 currency (EUR 2, JPY 0, KWD 3).
export function fractionDigits(currency) {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits;
  } catch (e) {
    return 2;
  }
}

// formatAmount formats minor units exactly (no floating point).
export function formatAmount(lang, minor, currency) {
  if (!currency) return '';
  const d = fractionDigits(currency);
  const neg = minor < 0;
  let s = String(Math.abs(Math.trunc(minor))).padStart(d + 1, '0');
  const dec = d ? s.slice(0, -d) + '.' + s.slice(-d) : s;
  try {
    return new Intl.NumberFormat(lang, { style: 'currency', currency }).format((neg ? '-' : '') + dec);
  } catch (e) {
    return (neg ? '-' : '') + dec + ' ' + currency;
  }
}

// parseAmount reads "12.34" as minor units of currency; NaN when malformed.
export function parseAmount(text, currency) {
  const d = fractionDigits(currency);
  const m = /^\s*(\d{1,12})(?:[.,](\d*))?\s*$/.exec(text);
  if (!m || (m[2] || '').length > d) return NaN;
  return Number(m[1]) * 10 ** d + Number((m[2] || '').padEnd(d, '0') || 0);
}
