"""What the org says about itself: API versions, limits, describeGlobal, each sObject's describe (fields,
picklists, record types) and the UI API's picklist values by record type."""
from __future__ import annotations

from flask import Blueprint, jsonify

from .access import org
from .errors import invalid_type, not_found
from .ids import PREFIX, canonical
from .schema import OBJECTS, Field, SObject, sobject
from .seed import RECORD_TYPES

bp = Blueprint("sf_meta", __name__)
VERSIONS = ("58.0", "59.0", "60.0", "61.0", "62.0")
SOAP = {"id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "currency": "xsd:double",
        "double": "xsd:double", "percent": "xsd:double", "datetime": "xsd:dateTime", "date": "xsd:date"}


@bp.get("/services/data/")
@bp.get("/services/data")
def versions():
    return jsonify([{"label": f"v{v}", "url": f"/services/data/v{v}", "version": v} for v in VERSIONS])


@bp.get("/services/data/v<version>/")
def resources(version: str):
    base = f"/services/data/v{version}"
    return jsonify({k: f"{base}/{k}" for k in ("sobjects", "query", "queryAll", "limits", "composite")})


@bp.get("/services/data/v<version>/limits/")
@bp.get("/services/data/v<version>/limits")
def limits(version: str):
    the_org = org()
    limit = the_org.config.daily_limit
    return jsonify({"DailyApiRequests": {"Max": limit, "Remaining": max(0, limit - the_org.api_used)}})


def _object_summary(obj: SObject, version: str) -> dict:
    base = f"/services/data/v{version}/sobjects/{obj.name}"
    return {"name": obj.name, "label": obj.label, "labelPlural": obj.plural, "keyPrefix": PREFIX[obj.name],
            "custom": False, "queryable": True, "retrieveable": True, "replicateable": True,
            "createable": obj.createable, "updateable": obj.createable, "deletable": obj.createable,
            "urls": {"sobject": base, "describe": f"{base}/describe", "rowTemplate": f"{base}/{{ID}}"}}


def _field(f: Field) -> dict:
    return {"name": f.name, "label": f.label, "type": f.type, "length": f.length, "soapType": SOAP.get(f.type, "xsd:string"),
            "nillable": not f.required and f.type not in ("id", "boolean"), "createable": f.writable,
            "updateable": f.writable, "calculated": f.calculated, "externalId": f.external_id, "unique": f.unique,
            "idLookup": f.type == "id" or f.external_id, "filterable": True, "sortable": True, "custom": f.name.endswith("__c"),
            "defaultedOnCreate": f.system or f.type == "boolean", "referenceTo": list(f.refers_to),
            "relationshipName": f.name[:-2] if f.type == "reference" and f.name.endswith("Id") else None,
            "picklistValues": [{"value": v, "label": v, "active": True, "defaultValue": False, "validFor": None}
                               for v in f.picklist], "compoundFieldName": None, "precision": 18 if f.type == "currency" else 0,
            "scale": 2 if f.type == "currency" else 0}


@bp.get("/services/data/v<version>/sobjects/")
@bp.get("/services/data/v<version>/sobjects")
def describe_global(version: str):
    return jsonify({"encoding": "UTF-8", "maxBatchSize": 200,
                    "sobjects": [_object_summary(o, version) for o in OBJECTS.values()]})


@bp.get("/services/data/v<version>/sobjects/<name>/describe/")
@bp.get("/services/data/v<version>/sobjects/<name>/describe")
def describe(version: str, name: str):
    obj = sobject(name) or _refuse(name)
    infos = [{"name": rt, "developerName": rt, "recordTypeId": RECORD_TYPES[rt], "active": True, "available": True,
              "defaultRecordTypeMapping": rt == "Standard", "master": False} for rt in obj.record_types]
    return jsonify({**_object_summary(obj, version), "fields": [_field(f) for f in obj.fields],
                    "recordTypeInfos": infos, "childRelationships": []})


@bp.get("/services/data/v<version>/sobjects/<name>/")
@bp.get("/services/data/v<version>/sobjects/<name>")
def basic_info(version: str, name: str):
    obj = sobject(name) or _refuse(name)
    return jsonify({"objectDescribe": _object_summary(obj, version), "recentItems": []})


@bp.get("/services/data/v<version>/ui-api/object-info/<name>/picklist-values/<record_type_id>")
def picklist_values(version: str, name: str, record_type_id: str):
    obj = sobject(name) or _refuse(name)
    wanted = canonical(record_type_id)
    record_type = next((rt for rt, rid in RECORD_TYPES.items() if rid == wanted and rt in obj.record_types), None)
    if record_type is None:
        raise not_found(f"Record type {record_type_id[:20]} is not one of {obj.name}'s.")
    allowed = obj.record_types[record_type]
    return jsonify({"picklistFieldValues": {
        f.name: {"defaultValue": None, "controllerValues": {},
                 "values": [{"label": v, "value": v, "validFor": [], "attributes": None}
                            for v in allowed.get(f.name, f.picklist)]}
        for f in obj.fields if f.type == "picklist"}})


def _refuse(name: str) -> SObject:
    raise invalid_type(name)
