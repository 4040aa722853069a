/** One `name` or `name=value` after an address's parameters, still as text. */
export interface OptionSpec {
  name: string;
  value?: string;
}

/** `TYPE:p1:p2,opt,opt=val` as parsed; the grammar never interprets TYPE. */
export interface SingleAddressSpec {
  kind: 'single';
  /** The keyword exactly as written (case kept for messages). */
  type: string;
  params: string[];
  options: OptionSpec[];
  /** The source text of this part, for log lines. */
  text: string;
}

/** `read-address!!write-address`. */
export interface DualAddressSpec {
  kind: 'dual';
  read: SingleAddressSpec;
  write: SingleAddressSpec;
  text: string;
}

export type AddressSpec = SingleAddressSpec | DualAddressSpec;
