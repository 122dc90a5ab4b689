import type { Schema } from './mini-schema.js';

/**
 * The published scenario schema (draft 2020-12), as data the loader can use without reading files at run time.
 * simulator/schema/scenario.schema.json is the same object for editors; a test keeps the two identical.
 */
export const SCENARIO_SCHEMA: Schema = {
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "$id": "https://iot-trust-agent.example/schema/scenario.schema.json",
  "title": "iot-trust-agent simulator scenario",
  "description": "A fleet, a span of virtual time and timed events; the simulator runs real agents through it and checks compliance verdicts.",
  "type": "object",
  "required": [
    "name",
    "seed",
    "duration",
    "fleet"
  ],
  "additionalProperties": false,
  "properties": {
    "$schema": {
      "type": "string"
    },
    "name": {
      "type": "string",
      "minLength": 1,
      "pattern": "^[A-Za-z0-9_.-]+$",
      "description": "letters, digits, _ . -"
    },
    "description": {
      "type": "string"
    },
    "seed": {
      "type": "integer",
      "minimum": 0,
      "maximum": 4294967295
    },
    "start": {
      "type": "string",
      "pattern": "^\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}(\\.\\d+)?Z$",
      "description": "UTC ISO time, e.g. 2026-01-05T00:00:00Z"
    },
    "duration": {
      "$ref": "#/$defs/duration"
    },
    "speed": {
      "enum": [
        "virtual",
        "realtime"
      ],
      "description": "virtual: days in seconds; realtime: wall clock"
    },
    "broker": {
      "oneOf": [
        {
          "const": "embedded"
        },
        {
          "type": "object",
          "required": [
            "url"
          ],
          "additionalProperties": false,
          "properties": {
            "url": {
              "type": "string",
              "pattern": "^(mqtts?|wss?|tcp|tls)://",
              "description": "mqtt://, mqtts://, ws://, wss://"
            },
            "ca": {
              "type": "string",
              "minLength": 1
            }
          }
        }
      ]
    },
    "home": {
      "type": "object",
      "required": [
        "lat",
        "lon"
      ],
      "additionalProperties": false,
      "properties": {
        "lat": {
          "type": "number",
          "minimum": -90,
          "maximum": 90
        },
        "lon": {
          "type": "number",
          "minimum": -180,
          "maximum": 180
        }
      }
    },
    "fleet": {
      "type": "array",
      "minItems": 1,
      "items": {
        "type": "object",
        "required": [
          "type",
          "count"
        ],
        "additionalProperties": false,
        "properties": {
          "type": {
            "$ref": "#/$defs/deviceType"
          },
          "count": {
            "type": "integer",
            "minimum": 1,
            "maximum": 100000
          },
          "idPrefix": {
            "type": "string",
            "pattern": "^[A-Za-z0-9_-]{1,48}$",
            "description": "letters, digits, _ -"
          }
        }
      }
    },
    "enforcementBound": {
      "$ref": "#/$defs/duration",
      "description": "how long after a change the agent may still emit/hold the old form (default 60s)"
    },
    "events": {
      "type": "array",
      "items": {
        "oneOf": [
          {
            "$ref": "#/$defs/preference"
          },
          {
            "$ref": "#/$defs/reset"
          },
          {
            "$ref": "#/$defs/broker-outage"
          },
          {
            "$ref": "#/$defs/power-loss"
          },
          {
            "$ref": "#/$defs/partition"
          },
          {
            "$ref": "#/$defs/clock"
          },
          {
            "$ref": "#/$defs/policy-update"
          },
          {
            "$ref": "#/$defs/erase"
          },
          {
            "$ref": "#/$defs/export"
          },
          {
            "$ref": "#/$defs/transfer"
          },
          {
            "$ref": "#/$defs/hostile"
          }
        ]
      }
    }
  },
  "$defs": {
    "deviceType": {
      "enum": [
        "thermostat",
        "smart-lock",
        "fitness-tracker"
      ]
    },
    "duration": {
      "oneOf": [
        {
          "type": "integer",
          "minimum": 0,
          "description": "milliseconds"
        },
        {
          "type": "string",
          "pattern": "^(\\d+(\\.\\d+)?(ms|s|m|h|d))+$",
          "description": "e.g. 90s, 2h30m, 7d"
        }
      ]
    },
    "signedDuration": {
      "type": "string",
      "pattern": "^[+-](\\d+(\\.\\d+)?(ms|s|m|h|d))+$",
      "description": "e.g. +2h, -10m"
    },
    "offset": {
      "$ref": "#/$defs/duration"
    },
    "preference": {
      "type": "object",
      "description": "The owner changes preferences through the companion client (a signed change request).",
      "required": [
        "type",
        "at",
        "device",
        "patch"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "preference"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        },
        "patch": {
          "type": "object",
          "minProperties": 1,
          "description": "category -> setting, or {setting, retention}",
          "additionalProperties": {
            "oneOf": [
              {
                "enum": [
                  "off",
                  "local",
                  "minimised",
                  "full"
                ]
              },
              {
                "type": "object",
                "required": [
                  "setting"
                ],
                "additionalProperties": false,
                "properties": {
                  "setting": {
                    "enum": [
                      "off",
                      "local",
                      "minimised",
                      "full"
                    ]
                  },
                  "retention": {
                    "$ref": "#/$defs/duration"
                  }
                }
              }
            ]
          }
        }
      }
    },
    "reset": {
      "type": "object",
      "description": "The owner resets preferences to the privacy-protective defaults.",
      "required": [
        "type",
        "at",
        "device"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "reset"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        }
      }
    },
    "broker-outage": {
      "type": "object",
      "description": "The broker goes down and restarts after `duration`.",
      "required": [
        "type",
        "at",
        "duration"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "broker-outage"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "duration": {
          "$ref": "#/$defs/duration"
        }
      }
    },
    "power-loss": {
      "type": "object",
      "description": "The device loses power (mid-write if unlucky) and reboots after `duration`.",
      "required": [
        "type",
        "at",
        "device",
        "duration"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "power-loss"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        },
        "duration": {
          "$ref": "#/$defs/duration"
        }
      }
    },
    "partition": {
      "type": "object",
      "description": "One device loses its network for `duration`.",
      "required": [
        "type",
        "at",
        "device",
        "duration"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "partition"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        },
        "duration": {
          "$ref": "#/$defs/duration"
        }
      }
    },
    "clock": {
      "type": "object",
      "description": "The device clock jumps by `jump` (signed); with `duration`, it is corrected (NTP) after that long.",
      "required": [
        "type",
        "at",
        "device",
        "jump"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "clock"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        },
        "jump": {
          "$ref": "#/$defs/signedDuration"
        },
        "duration": {
          "$ref": "#/$defs/duration"
        }
      }
    },
    "policy-update": {
      "type": "object",
      "description": "A firmware/policy update widens a category (retention, recipients or default). Must not apply without consent.",
      "required": [
        "type",
        "at",
        "deviceType",
        "category",
        "widen"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "policy-update"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "deviceType": {
          "$ref": "#/$defs/deviceType"
        },
        "category": {
          "type": "string",
          "minLength": 1
        },
        "widen": {
          "type": "object",
          "additionalProperties": false,
          "minProperties": 1,
          "properties": {
            "retention": {
              "$ref": "#/$defs/duration"
            },
            "recipients": {
              "type": "array",
              "items": {
                "enum": [
                  "vendor-cloud",
                  "analytics",
                  "third-party"
                ]
              },
              "minItems": 1
            },
            "default": {
              "enum": [
                "off",
                "local",
                "minimised",
                "full"
              ]
            }
          }
        }
      }
    },
    "erase": {
      "type": "object",
      "description": "Erase all user data on the device, or one user's data (`user`).",
      "required": [
        "type",
        "at",
        "device"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "erase"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        },
        "user": {
          "type": "string",
          "minLength": 1
        }
      }
    },
    "export": {
      "type": "object",
      "description": "Export the owner's data (signed receipt).",
      "required": [
        "type",
        "at",
        "device"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "export"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        }
      }
    },
    "transfer": {
      "type": "object",
      "description": "Transfer ownership: erase, rotate keys, reset preferences, pair the new owner.",
      "required": [
        "type",
        "at",
        "device"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "transfer"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        }
      }
    },
    "hostile": {
      "type": "object",
      "description": "Hostile inputs on the command topic: each must be rejected with state unchanged.",
      "required": [
        "type",
        "at",
        "device",
        "kind"
      ],
      "additionalProperties": false,
      "properties": {
        "type": {
          "const": "hostile"
        },
        "at": {
          "$ref": "#/$defs/offset"
        },
        "note": {
          "type": "string"
        },
        "device": {
          "type": "string",
          "pattern": "^[A-Za-z0-9_-]{1,64}$",
          "description": "a device id: idPrefix-N (N from 1)"
        },
        "kind": {
          "enum": [
            "forged",
            "replayed",
            "garbage",
            "stale-version",
            "oversized"
          ]
        },
        "count": {
          "type": "integer",
          "minimum": 1,
          "maximum": 10000
        }
      }
    }
  }
};
