"""The compliance report from the admin (admin/review/compliance/): a form for channel, period
and format; HTML opens as a printable page, CSV and JSON download. Who may read the audit log
may read the report."""

import datetime as dt

from django import forms
from django.contrib import admin
from django.contrib.auth.decorators import permission_required
from django.http import HttpResponse
from django.shortcuts import render
from django.utils.http import content_disposition_header

from channels_app.models import Channel
from reviews.compliance import FORMATS, compliance_records, compliance_render

CONTENT_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "json": "application/json",
    "html": "text/html; charset=utf-8",
}


class ComplianceForm(forms.Form):
    channel = forms.ModelChoiceField(queryset=Channel.objects.order_by("name"))
    start = forms.DateField(label="From (UTC)", widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(
        label="To (UTC, included)", widget=forms.DateInput(attrs={"type": "date"})
    )
    format = forms.ChoiceField(choices=[(name, name.upper()) for name in FORMATS], initial="html")

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["channel"].label_from_instance = lambda channel: channel.name

    def clean(self):
        data = super().clean()
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise forms.ValidationError("The period ends before it starts.")
        return data


@permission_required("core.view_auditlog", raise_exception=True)
def compliance_report(request):
    form = ComplianceForm(request.GET or None)
    if not form.is_valid():
        context = {**admin.site.each_context(request), "form": form, "title": "Compliance report"}
        return render(request, "reviews/compliance_form.html", context)
    data = form.cleaned_data
    channel = data["channel"]
    start = dt.datetime.combine(data["start"], dt.time.min, tzinfo=dt.UTC)
    end = dt.datetime.combine(data["end"] + dt.timedelta(days=1), dt.time.min, tzinfo=dt.UTC)
    records = compliance_records(channel=channel, start=start, end=end)
    text = compliance_render(records, fmt=data["format"], channel=channel, start=start, end=end)
    response = HttpResponse(text, content_type=CONTENT_TYPES[data["format"]])
    if data["format"] != "html":
        name = f"compliance-{channel.pk}-{data['start']}-{data['end']}.{data['format']}"
        response["Content-Disposition"] = content_disposition_header(True, name)
    return response
